"""The one module that imports boto3: typed reads for the planner, one write entry point.

Everything in :mod:`arbiter_server.infra` (and the AWS composition root,
:mod:`arbiter_server.aws`) gets its AWS access from :class:`AwsClient`. Reads are small
typed methods that translate "not found" into ``None``/``False``; writes all go through
:meth:`AwsClient.call`, which retries the errors AWS returns while a fresh dependency
propagates (an IAM role not yet assumable, a security group still attached to an ENI)
until a deadline, and :meth:`AwsClient.wait` polls a read until it holds or its time is
up. Both take the time from an injected ``clock`` and ``sleep`` (instant in tests) and
report each retry or poll to a ``progress`` callback. Every write reaches boto3 through
:meth:`AwsClient._invoke`.

boto3's standard configuration applies: the credential chain, ``AWS_PROFILE``, and
``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_<SERVICE>``) to point it at an emulator.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from .models import DEFAULT_RETRY_FOR, DEFAULT_WAIT
from .queue_reads import QueueReads

__all__ = ["AwsClient", "AwsError", "NoCredentials", "Progress"]

logger = logging.getLogger(__name__)


class AwsError(RuntimeError):
    """An AWS call failed; the message says which call and why."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class NoCredentials(AwsError):
    """No AWS credentials (or no region) were found by boto3's normal chain."""


Progress = Callable[[str], None]
"Receives one line per retry or poll (the CLI shows it beside its progress bar)."

_PROPAGATION_ERRORS = frozenset(
    {
        "DependencyViolation",
        "ResourceInUse",
        "ResourceInUseException",
        "ResourceConflictException",
        "TooManyRequestsException",
        "ThrottlingException",
        "ConflictException",
    }
)


class AwsClient(QueueReads):
    """Typed boto3 access for one region.

    ``sleep`` and ``clock`` (monotonic seconds) are injected so retries and waits are
    instant in tests; ``delay`` is the first pause between tries, growing by half each
    time up to ``max_delay``.
    """

    def __init__(
        self,
        region: str | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        delay: float = 2.0,
        max_delay: float = 15.0,
        session: Any = None,
    ) -> None:
        self._session = session or boto3.session.Session(region_name=region)
        self.region: str = self._session.region_name or ""
        self._sleep = sleep
        self._clock = clock
        self._delay = delay
        self._max_delay = max_delay
        self._clients: dict[str, Any] = {}
        self._account: str | None = None

    # plumbing
    def client(self, service: str, endpoint_url: str | None = None) -> Any:
        """A (cached) botocore client; ``endpoint_url`` overrides the standard lookup."""
        key = f"{service}|{endpoint_url or ''}"
        if key not in self._clients:
            if not self.region:
                raise NoCredentials(
                    "no AWS region configured: pass --region or set AWS_REGION / AWS_DEFAULT_REGION"
                )
            self._clients[key] = self._session.client(
                service,
                endpoint_url=endpoint_url,
                config=Config(retries={"max_attempts": 5, "mode": "standard"}),
            )
        return self._clients[key]

    def check_credentials(self) -> str:
        """The account id; raises :class:`NoCredentials` with a clear message if none."""
        if self._account is None:
            if self._session.get_credentials() is None:
                raise NoCredentials(
                    "no AWS credentials found: configure them as for the AWS CLI "
                    "(aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
                )
            try:
                ident = self.client("sts").get_caller_identity()
            except NoCredentialsError as exc:
                raise NoCredentials(f"no AWS credentials found: {exc}") from None
            except NoRegionError as exc:
                raise NoCredentials(str(exc)) from None
            except ClientError as exc:
                raise AwsError(f"AWS rejected the credentials: {exc}", _code(exc)) from None
            self._account = str(ident["Account"])
        return self._account

    @property
    def account_id(self) -> str:
        """The caller's account id."""
        return self.check_credentials()

    @property
    def partition(self) -> str:
        """``aws`` (or ``aws-cn``/``aws-us-gov`` in those regions)."""
        return str(self._session.get_partition_for_region(self.region))

    def call(
        self,
        service: str,
        method: str,
        params: dict[str, Any],
        retry_on: tuple[str, ...] = (),
        ignore: tuple[str, ...] = (),
        retry_for: float = DEFAULT_RETRY_FOR,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Run one (mutating) API call, retrying propagation errors and ``retry_on``.

        Retries go on for ``retry_for`` seconds, then the last error is raised as
        :class:`AwsError`. Errors in ``ignore`` (e.g. "not found" when deleting) return ``{}``.
        """
        retryable = _PROPAGATION_ERRORS | set(retry_on)
        start = self._clock()
        delay = self._delay
        while True:
            try:
                return self._invoke(service, method, params)
            except ClientError as exc:
                code = _code(exc)
                if code in ignore:
                    return {}
                elapsed = self._clock() - start
                if code in retryable and elapsed < retry_for:
                    logger.info("%s.%s: %s, retrying", service, method, code)
                    if progress is not None:
                        progress(
                            f"{service}.{method}: {code}, retrying "
                            f"({elapsed:.0f} s of at most {retry_for:.0f} s)"
                        )
                    self._sleep(min(delay, retry_for - elapsed))
                    delay = min(delay * 1.5, self._max_delay)
                    continue
                retried = f" (retried for {elapsed:.0f} s)" if code in retryable else ""
                raise AwsError(f"{service}.{method} failed{retried}: {exc}", code) from None
            except BotoCoreError as exc:
                raise AwsError(f"{service}.{method} failed: {exc}") from None

    def _invoke(self, service: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The one place a write reaches boto3."""
        result: dict[str, Any] = getattr(self.client(service), method)(**params)
        return result

    def wait(
        self,
        what: str,
        check: Callable[[], bool],
        timeout: float = DEFAULT_WAIT,
        progress: Progress | None = None,
    ) -> None:
        """Poll ``check`` until it is true; :class:`AwsError` after ``timeout`` seconds."""
        start = self._clock()
        delay = self._delay
        while not check():
            elapsed = self._clock() - start
            if elapsed >= timeout:
                raise AwsError(f"timed out after {timeout:.0f} s waiting for {what}", "Timeout")
            if progress is not None:
                progress(f"waiting for {what} ({elapsed:.0f} s of at most {timeout:.0f} s)")
            self._sleep(min(delay, timeout - elapsed))
            delay = min(delay * 1.5, self._max_delay)

    def _read(self, service: str, method: str, missing: tuple[str, ...], **params: Any) -> Any:
        try:
            return getattr(self.client(service), method)(**params)
        except ClientError as exc:
            if _code(exc) in missing:
                return None
            raise AwsError(f"{service}.{method} failed: {exc}", _code(exc)) from None
        except NoCredentialsError as exc:
            raise NoCredentials(f"no AWS credentials found: {exc}") from None

    def _pages(self, service: str, method: str, key: str, **params: Any) -> Iterator[Any]:
        paginator = self.client(service).get_paginator(method)
        try:
            for page in paginator.paginate(**params):
                yield from page.get(key, [])
        except ClientError as exc:
            raise AwsError(f"{service}.{method} failed: {exc}", _code(exc)) from None

    # ssm
    def parameter_exists(self, name: str) -> bool:
        """Whether the SSM parameter exists."""
        resp = self._read("ssm", "get_parameter", ("ParameterNotFound",), Name=name)
        return resp is not None

    def get_parameter(self, name: str) -> str | None:
        """A (decrypted) SSM parameter value, or None."""
        resp = self._read(
            "ssm", "get_parameter", ("ParameterNotFound",), Name=name, WithDecryption=True
        )
        return None if resp is None else str(resp["Parameter"]["Value"])

    def parameter_tags(self, name: str) -> dict[str, str]:
        """Tags of an SSM parameter."""
        resp = self._read(
            "ssm",
            "list_tags_for_resource",
            ("InvalidResourceId",),
            ResourceType="Parameter",
            ResourceId=name,
        )
        return _tag_dict((resp or {}).get("TagList", []))

    # logs
    def log_group(self, name: str) -> dict[str, Any] | None:
        """The log group named exactly ``name``."""
        for group in self._pages(
            "logs", "describe_log_groups", "logGroups", logGroupNamePrefix=name
        ):
            if group["logGroupName"] == name:
                return dict(group)
        return None

    def log_group_tags(self, arn: str) -> dict[str, str]:
        """Tags of a log group (by ARN without the trailing ``:*``)."""
        resp = self._read("logs", "list_tags_for_resource", (), resourceArn=arn.rstrip(":*"))
        return dict((resp or {}).get("tags", {}))

    # dynamodb
    def table(self, name: str) -> dict[str, Any] | None:
        """``describe_table``'s ``Table``, or None."""
        resp = self._read(
            "dynamodb", "describe_table", ("ResourceNotFoundException",), TableName=name
        )
        return None if resp is None else dict(resp["Table"])

    def table_ttl(self, name: str) -> dict[str, Any]:
        """``TimeToLiveDescription`` of a table."""
        resp = self._read("dynamodb", "describe_time_to_live", (), TableName=name)
        return dict(resp.get("TimeToLiveDescription", {}))

    def dynamodb_tags(self, arn: str) -> dict[str, str]:
        """Tags of a DynamoDB table."""
        resp = self._read("dynamodb", "list_tags_of_resource", (), ResourceArn=arn)
        return _tag_dict(resp.get("Tags", []))

    # iam
    def role(self, name: str) -> dict[str, Any] | None:
        """An IAM role, or None."""
        resp = self._read("iam", "get_role", ("NoSuchEntity",), RoleName=name)
        return None if resp is None else dict(resp["Role"])

    def role_policy_names(self, name: str) -> list[str]:
        """Names of a role's inline policies."""
        return list(self._pages("iam", "list_role_policies", "PolicyNames", RoleName=name))

    def attached_role_policies(self, name: str) -> list[str]:
        """ARNs of a role's managed policies."""
        return [
            p["PolicyArn"]
            for p in self._pages(
                "iam", "list_attached_role_policies", "AttachedPolicies", RoleName=name
            )
        ]

    def role_policy(self, role: str, policy: str) -> dict[str, Any] | None:
        """An inline policy document (as a dict), or None."""
        resp = self._read(
            "iam", "get_role_policy", ("NoSuchEntity",), RoleName=role, PolicyName=policy
        )
        if resp is None:
            return None
        doc = resp["PolicyDocument"]
        return dict(json.loads(doc) if isinstance(doc, str) else doc)

    # ecr
    def repository(self, name: str) -> dict[str, Any] | None:
        """An ECR repository, or None."""
        resp = self._read(
            "ecr", "describe_repositories", ("RepositoryNotFoundException",), repositoryNames=[name]
        )
        return None if resp is None else dict(resp["repositories"][0])

    def image_exists(self, repository: str, tag: str) -> bool:
        """Whether ``repository:tag`` has been pushed."""
        resp = self._read(
            "ecr",
            "describe_images",
            ("ImageNotFoundException", "RepositoryNotFoundException"),
            repositoryName=repository,
            imageIds=[{"imageTag": tag}],
        )
        return bool(resp and resp.get("imageDetails"))

    def ecr_login(self) -> tuple[str, str, str]:
        """``(username, password, registry)`` for ``docker login``."""
        import base64

        data = self.client("ecr").get_authorization_token()["authorizationData"][0]
        user, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
        return user, password, str(data["proxyEndpoint"])

    def ecr_tags(self, arn: str) -> dict[str, str]:
        """Tags of an ECR repository."""
        resp = self._read("ecr", "list_tags_for_resource", (), resourceArn=arn)
        return _tag_dict(resp.get("tags", []))

    # ec2
    def default_vpc(self) -> str | None:
        """The default VPC's id, or None."""
        resp = self._read(
            "ec2", "describe_vpcs", (), Filters=[{"Name": "isDefault", "Values": ["true"]}]
        )
        vpcs = resp.get("Vpcs", [])
        return str(vpcs[0]["VpcId"]) if vpcs else None

    def subnets(self, vpc_id: str) -> list[tuple[str, str]]:
        """``(subnet id, availability zone)`` of a VPC's public subnets (all if none is)."""
        subnets = list(
            self._pages(
                "ec2",
                "describe_subnets",
                "Subnets",
                Filters=[{"Name": "vpc-id", "Values": [vpc_id]}],
            )
        )
        public = [s for s in subnets if s.get("MapPublicIpOnLaunch")]
        chosen = public or subnets
        out = [(str(s["SubnetId"]), str(s.get("AvailabilityZone", ""))) for s in chosen]
        out.sort(key=lambda pair: (pair[1], pair[0]))
        return out

    def security_group(self, vpc_id: str, name: str) -> dict[str, Any] | None:
        """The security group named ``name`` in the VPC, or None."""
        groups = list(
            self._pages(
                "ec2",
                "describe_security_groups",
                "SecurityGroups",
                Filters=[
                    {"Name": "vpc-id", "Values": [vpc_id]},
                    {"Name": "group-name", "Values": [name]},
                ],
            )
        )
        return dict(groups[0]) if groups else None

    # elbv2
    def load_balancer(self, name: str) -> dict[str, Any] | None:
        """A load balancer by name, or None."""
        resp = self._read(
            "elbv2", "describe_load_balancers", ("LoadBalancerNotFound",), Names=[name]
        )
        return None if resp is None else dict(resp["LoadBalancers"][0])

    def target_group(self, name: str) -> dict[str, Any] | None:
        """A target group by name, or None."""
        resp = self._read("elbv2", "describe_target_groups", ("TargetGroupNotFound",), Names=[name])
        return None if resp is None else dict(resp["TargetGroups"][0])

    def load_balancer_attributes(self, arn: str) -> dict[str, str]:
        """A load balancer's attributes as a dict."""
        resp = self._read("elbv2", "describe_load_balancer_attributes", (), LoadBalancerArn=arn)
        return {a["Key"]: a["Value"] for a in resp.get("Attributes", [])}

    def target_group_attributes(self, arn: str) -> dict[str, str]:
        """A target group's attributes as a dict."""
        resp = self._read("elbv2", "describe_target_group_attributes", (), TargetGroupArn=arn)
        return {a["Key"]: a["Value"] for a in resp.get("Attributes", [])}

    def listeners(self, lb_arn: str) -> list[dict[str, Any]]:
        """Listeners of a load balancer."""
        resp = self._read(
            "elbv2", "describe_listeners", ("LoadBalancerNotFound",), LoadBalancerArn=lb_arn
        )
        return list((resp or {}).get("Listeners", []))

    def target_health(self, tg_arn: str) -> list[dict[str, Any]]:
        """``TargetHealthDescriptions`` of a target group."""
        resp = self._read(
            "elbv2", "describe_target_health", ("TargetGroupNotFound",), TargetGroupArn=tg_arn
        )
        return list((resp or {}).get("TargetHealthDescriptions", []))

    def elbv2_tags(self, arn: str) -> dict[str, str]:
        """Tags of a load balancer or target group."""
        resp = self._read("elbv2", "describe_tags", (), ResourceArns=[arn])
        descs = resp.get("TagDescriptions", [])
        return _tag_dict(descs[0].get("Tags", [])) if descs else {}

    # ecs
    def cluster(self, name: str) -> dict[str, Any] | None:
        """An ACTIVE ECS cluster, or None."""
        resp = self._read("ecs", "describe_clusters", (), clusters=[name], include=["TAGS"])
        for c in resp.get("clusters", []):
            if c.get("status") == "ACTIVE":
                return dict(c)
        return None

    def task_definition(self, family: str) -> dict[str, Any] | None:
        """The latest ACTIVE revision of a task definition family, with its tags."""
        resp = self._read(
            "ecs",
            "describe_task_definition",
            ("ClientException",),
            taskDefinition=family,
            include=["TAGS"],
        )
        if resp is None or resp["taskDefinition"].get("status") != "ACTIVE":
            return None
        td = dict(resp["taskDefinition"])
        td["tags"] = resp.get("tags", [])
        return td

    def task_definition_arns(self, family: str) -> list[str]:
        """Every ACTIVE revision of a family."""
        return [
            str(a)
            for a in self._pages(
                "ecs",
                "list_task_definitions",
                "taskDefinitionArns",
                familyPrefix=family,
                status="ACTIVE",
            )
            if str(a).rsplit("/", 1)[-1].rsplit(":", 1)[0] == family
        ]

    def service(self, cluster: str, name: str) -> dict[str, Any] | None:
        """An ECS service that is not INACTIVE, or None."""
        resp = self._read(
            "ecs",
            "describe_services",
            ("ClusterNotFoundException",),
            cluster=cluster,
            services=[name],
            include=["TAGS"],
        )
        for s in (resp or {}).get("services", []):
            if s.get("status") != "INACTIVE":
                return dict(s)
        return None

    def tasks(self, cluster: str, **filters: str) -> list[dict[str, Any]]:
        """Tasks of a cluster (``startedBy=...``, ``serviceName=...``), described with tags."""
        try:
            arns = list(self._pages("ecs", "list_tasks", "taskArns", cluster=cluster, **filters))
        except AwsError as exc:
            if exc.code == "ClusterNotFoundException":
                return []
            raise
        out: list[dict[str, Any]] = []
        for i in range(0, len(arns), 100):
            resp = self._read(
                "ecs",
                "describe_tasks",
                (),
                cluster=cluster,
                tasks=arns[i : i + 100],
                include=["TAGS"],
            )
            out.extend(resp.get("tasks", []))
        return out

    # lambda
    def function(self, name: str) -> dict[str, Any] | None:
        """``get_function_configuration`` of a Lambda function, or None."""
        resp = self._read(
            "lambda",
            "get_function_configuration",
            ("ResourceNotFoundException",),
            FunctionName=name,
        )
        return None if resp is None else dict(resp)

    def function_tags(self, arn: str) -> dict[str, str]:
        """Tags of a Lambda function."""
        resp = self._read("lambda", "list_tags", (), Resource=arn)
        return dict(resp.get("Tags", {}))

    def function_policy(self, name: str) -> list[dict[str, Any]]:
        """The statements of a function's resource policy (empty if it has none)."""
        resp = self._read("lambda", "get_policy", ("ResourceNotFoundException",), FunctionName=name)
        if resp is None:
            return []
        return list(json.loads(resp["Policy"]).get("Statement", []))

    # apigatewayv2
    def apis(self, name: str) -> list[dict[str, Any]]:
        """Every HTTP/WebSocket API named ``name`` (AWS allows duplicates)."""
        return [
            a for a in self._pages("apigatewayv2", "get_apis", "Items") if a.get("Name") == name
        ]

    def integrations(self, api_id: str) -> list[dict[str, Any]]:
        """Integrations of an API."""
        resp = self._read("apigatewayv2", "get_integrations", ("NotFoundException",), ApiId=api_id)
        return list((resp or {}).get("Items", []))

    def integration_responses(self, api_id: str, integration_id: str) -> list[dict[str, Any]]:
        """Integration responses of one integration (the mock integration's answer)."""
        resp = self._read(
            "apigatewayv2",
            "get_integration_responses",
            ("NotFoundException",),
            ApiId=api_id,
            IntegrationId=integration_id,
        )
        return list((resp or {}).get("Items", []))

    def routes(self, api_id: str) -> list[dict[str, Any]]:
        """Routes of an API."""
        resp = self._read("apigatewayv2", "get_routes", ("NotFoundException",), ApiId=api_id)
        return list((resp or {}).get("Items", []))

    def stages(self, api_id: str) -> list[dict[str, Any]]:
        """Stages of an API."""
        resp = self._read("apigatewayv2", "get_stages", ("NotFoundException",), ApiId=api_id)
        return list((resp or {}).get("Items", []))

    # events
    def rule(self, name: str) -> dict[str, Any] | None:
        """An EventBridge rule, or None."""
        resp = self._read("events", "describe_rule", ("ResourceNotFoundException",), Name=name)
        return None if resp is None else dict(resp)

    def rule_targets(self, name: str) -> list[dict[str, Any]]:
        """Targets of a rule."""
        resp = self._read(
            "events", "list_targets_by_rule", ("ResourceNotFoundException",), Rule=name
        )
        return list((resp or {}).get("Targets", []))

    def events_tags(self, arn: str) -> dict[str, str]:
        """Tags of a rule."""
        resp = self._read("events", "list_tags_for_resource", (), ResourceARN=arn)
        return _tag_dict(resp.get("Tags", []))


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _tag_dict(tags: list[dict[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for tag in tags:
        key = tag.get("Key", tag.get("key"))
        value = tag.get("Value", tag.get("value"))
        if key is not None:
            out[str(key)] = str(value)
    return out
