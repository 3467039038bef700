"""The AWS deployer: ``arbiter-server deploy``, ``status`` and ``destroy``.

A pipeline in the manner of chalice's: the Lambda zip is built locally
(:mod:`.package`), the :class:`~.planner.Planner` reads AWS and returns a plan of frozen
instructions (:mod:`.models`), an executor applies it (:mod:`.executor`) or only shows
it, and the result is recorded in a state file (:mod:`.state`). :mod:`.awsclient` is the
one module that imports boto3. The deployed functions' services are built by the AWS
composition root, :mod:`arbiter_server.aws`, not here.

Nothing is imported here, so importing a submodule stays cheap (the Lambda zip carries
:mod:`.awsclient` only).
"""

__all__: list[str] = []
