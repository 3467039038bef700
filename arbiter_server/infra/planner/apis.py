"""Plan steps for API Gateway: the two APIs, their integrations, routes and stages.

Also the functions' resource policies (who may invoke them), which need the APIs' ids.
The WebSocket API's ``keepalive`` route (``MOCK_WS_ROUTES``) goes to a mock integration
that answers ``keepalive_ack`` itself: no Lambda, no table, only API Gateway's own route
throttling; API Gateway counts the message as the connection's activity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...lambdas.routes import HTTP_CORS, HTTP_ROUTES, KEEPALIVE_REPLY, MOCK_WS_ROUTES, WS_ROUTES
from ..models import TAG_KEY, APICall, Instruction, Template, Var
from .context import PlanContext
from .names import WS_STAGE

__all__ = [
    "KEEPALIVE_REPLY",
    "KEEPALIVE_THROTTLE",
    "MOCK_REQUEST",
    "plan_api_routes",
    "plan_apis",
    "plan_permissions",
]

MOCK_REQUEST = '{"statusCode": 200}'
"The mock integration's request template: it answers every request with status 200."
KEEPALIVE_THROTTLE: dict[str, Any] = {"ThrottlingBurstLimit": 200, "ThrottlingRateLimit": 100.0}
"""Route throttling of ``keepalive`` (the whole API; each socket sends one a minute at most,
so 100 a second carries about 6000 sockets)."""
_MOCK_ID = "ws_mock_integration_id"


def plan_apis(ctx: PlanContext) -> None:
    """The HTTP API (Room API) and the WebSocket API (signaling), one of each."""
    specs: list[tuple[str, str, dict[str, Any]]] = [
        (
            "http_api_id",
            ctx.names.http_api,
            {"ProtocolType": "HTTP", "CorsConfiguration": HTTP_CORS},
        ),
        (
            "ws_api_id",
            ctx.names.ws_api,
            {"ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"},
        ),
    ]
    for var, name, extra in specs:
        apis = [
            a for a in ctx.aws.apis(name) if a.get("Tags", {}).get(TAG_KEY) == ctx.config.prefix
        ]
        if apis:
            ctx.values[var] = str(apis[0]["ApiId"])
            ctx.plan.resources[f"api:{name}"] = ctx.values[var]
            for dup in apis[1:]:  # AWS allows two APIs of one name; keep one
                ctx.change(
                    "delete",
                    "api",
                    f"{name} ({dup['ApiId']})",
                    [APICall("apigatewayv2", "delete_api", {"ApiId": dup["ApiId"]})],
                    "duplicate",
                )
            continue
        ctx.change(
            "create",
            "api",
            name,
            [
                APICall(
                    "apigatewayv2",
                    "create_api",
                    {"Name": name, "Tags": dict(ctx.config.tags), **extra},
                    output_var=var,
                    output_path="ApiId",
                )
            ],
            str(extra["ProtocolType"]),
        )


def _permissions(ctx: PlanContext) -> list[tuple[str, str, str, Any]]:
    """``(function suffix, statement id, principal, source ARN)`` of each invoke permission."""
    n, v = ctx.names, ctx.values
    p, r, a = v["partition"], v["region"], v["account"]
    return [
        (
            "room-api",
            "arbiter-http",
            "apigateway.amazonaws.com",
            Template(f"arn:{p}:execute-api:{r}:{a}:{{http_api_id}}/*"),
        ),
        (
            "signaling",
            "arbiter-ws",
            "apigateway.amazonaws.com",
            Template(f"arn:{p}:execute-api:{r}:{a}:{{ws_api_id}}/*"),
        ),
        (
            "maintenance",
            "arbiter-events",
            "events.amazonaws.com",
            f"arn:{p}:events:{r}:{a}:rule/{n.rule}",
        ),
    ]


def _statement(sid: str, principal: str, function_arn: str, source_arn: Any) -> dict[str, Any]:
    """A permission as ``get_policy`` shows it."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": principal},
        "Action": "lambda:InvokeFunction",
        "Resource": function_arn,
        "Condition": {"ArnLike": {"AWS:SourceArn": source_arn}},
    }


def plan_permissions(ctx: PlanContext) -> None:
    """Resource policies letting API Gateway and EventBridge invoke the functions.

    A statement is compared in full (principal, action, function, source ARN), not by its
    id alone, so a permission naming a deleted API is replaced, not kept.
    """
    for suffix, sid, principal, source_arn in _permissions(ctx):
        name = ctx.names.fn(suffix)
        function_arn = ctx.arn("lambda", f"function:{name}")
        want = ctx.known(_statement(sid, principal, function_arn, source_arn))
        have = [s for s in ctx.aws.function_policy(name) if s.get("Sid") == sid]
        if have and have[0] == want:
            continue
        calls: list[Instruction] = []
        if have:
            calls.append(
                APICall("lambda", "remove_permission", {"FunctionName": name, "StatementId": sid})
            )
        calls.append(
            APICall(
                "lambda",
                "add_permission",
                {
                    "FunctionName": name,
                    "StatementId": sid,
                    "Action": "lambda:InvokeFunction",
                    "Principal": principal,
                    "SourceArn": source_arn,
                },
            )
        )
        ctx.change(
            "update" if have else "create",
            "lambda-permission",
            f"{name}/{sid}",
            calls,
            "statement differs" if have else "",
        )


@dataclass(frozen=True)
class _Api:
    kind: str
    name: str
    id_var: str
    uri: str
    extra: dict[str, Any]
    route_keys: tuple[str, ...]
    stage: str
    mock_route_keys: tuple[str, ...] = ()
    "Routes answered by the API's mock integration (WebSocket: ``keepalive``)."

    @property
    def id(self) -> str:
        return f"{self.kind}_integration_id"


def _apis(ctx: PlanContext) -> list[_Api]:
    v = ctx.values
    lambda_uri = (
        f"arn:{v['partition']}:apigateway:{v['region']}:lambda:path/2015-03-31/functions/"
        f"{v['fn_signaling_arn']}/invocations"
    )
    return [
        _Api(
            "http",
            ctx.names.http_api,
            "http_api_id",
            v["fn_room_api_arn"],
            {"PayloadFormatVersion": "2.0"},
            HTTP_ROUTES,
            "$default",
        ),
        _Api(
            "ws", ctx.names.ws_api, "ws_api_id", lambda_uri, {}, WS_ROUTES, WS_STAGE, MOCK_WS_ROUTES
        ),
    ]


def plan_api_routes(ctx: PlanContext) -> None:
    """Each API's Lambda integration (and the WebSocket API's mock integration), exactly
    its routes, and its AutoDeploy stage with the mock routes' throttling."""
    for api in _apis(ctx):
        api_id = ctx.values.get(api.id_var)
        _plan_integration(ctx, api, api_id)
        if api.mock_route_keys:
            _plan_mock_integration(ctx, api, api_id)
        _plan_routes(ctx, api, api_id)
        _plan_stage(ctx, api, api_id)


def _plan_integration(ctx: PlanContext, api: _Api, api_id: str | None) -> None:
    integrations = ctx.aws.integrations(api_id) if api_id else []
    ours = [i for i in integrations if i.get("IntegrationUri") == api.uri]
    if ours:
        ctx.values[api.id] = str(ours[0]["IntegrationId"])
    else:
        ctx.change(
            "create",
            "api-integration",
            f"{api.name} -> {api.uri.rsplit(':', 1)[-1].split('/')[0]}",
            [
                APICall(
                    "apigatewayv2",
                    "create_integration",
                    {
                        "ApiId": Var(api.id_var),
                        "IntegrationType": "AWS_PROXY",
                        "IntegrationUri": api.uri,
                        "IntegrationMethod": "POST",
                        **api.extra,
                    },
                    output_var=api.id,
                    output_path="IntegrationId",
                )
            ],
            "AWS_PROXY",
        )
    for dup in integrations:
        if api.mock_route_keys and dup.get("IntegrationType") == "MOCK":
            continue  # the mock integration's own step keeps one
        if ours and dup["IntegrationId"] != ours[0]["IntegrationId"]:
            _delete_integration(ctx, api, api_id, str(dup["IntegrationId"]), "not ours")


def _delete_integration(
    ctx: PlanContext, api: _Api, api_id: str | None, integration_id: str, why: str
) -> None:
    ctx.change(
        "delete",
        "api-integration",
        f"{api.name} ({integration_id})",
        [
            APICall(
                "apigatewayv2",
                "delete_integration",
                {"ApiId": api_id, "IntegrationId": integration_id},
            )
        ],
        why,
    )


def _plan_mock_integration(ctx: PlanContext, api: _Api, api_id: str | None) -> None:
    """One MOCK integration whose integration response is ``keepalive_ack``."""
    mocks = [
        i
        for i in (ctx.aws.integrations(api_id) if api_id else [])
        if i.get("IntegrationType") == "MOCK"
    ]
    integration: dict[str, Any] = {
        "IntegrationType": "MOCK",
        "RequestTemplates": {"$default": MOCK_REQUEST},
        "TemplateSelectionExpression": "\\$default",
        "Description": "arbiter keepalive: answered by API Gateway, no Lambda, no table",
    }
    response: dict[str, Any] = {
        "IntegrationResponseKey": "$default",
        "ResponseTemplates": {"$default": KEEPALIVE_REPLY},
        "TemplateSelectionExpression": "\\$default",
    }
    if not mocks:
        ctx.change(
            "create",
            "api-integration",
            f"{api.name} -> mock (keepalive_ack)",
            [
                APICall(
                    "apigatewayv2",
                    "create_integration",
                    {"ApiId": Var(api.id_var), **integration},
                    output_var=_MOCK_ID,
                    output_path="IntegrationId",
                ),
                APICall(
                    "apigatewayv2",
                    "create_integration_response",
                    {"ApiId": Var(api.id_var), "IntegrationId": Var(_MOCK_ID), **response},
                ),
            ],
            "MOCK",
        )
        return
    mock_id = str(mocks[0]["IntegrationId"])
    ctx.values[_MOCK_ID] = mock_id
    for dup in mocks[1:]:
        _delete_integration(ctx, api, api_id, str(dup["IntegrationId"]), "duplicate")
    calls: list[Instruction] = []
    if mocks[0].get("RequestTemplates") != integration["RequestTemplates"]:
        calls.append(
            APICall(
                "apigatewayv2",
                "update_integration",
                {"ApiId": api_id, "IntegrationId": mock_id, **integration},
            )
        )
    assert api_id is not None
    answers = {
        str(r.get("IntegrationResponseKey")): r
        for r in ctx.aws.integration_responses(api_id, mock_id)
    }
    have = answers.get("$default")
    if have is None:
        calls.append(
            APICall(
                "apigatewayv2",
                "create_integration_response",
                {"ApiId": api_id, "IntegrationId": mock_id, **response},
            )
        )
    elif have.get("ResponseTemplates") != response["ResponseTemplates"]:
        calls.append(
            APICall(
                "apigatewayv2",
                "update_integration_response",
                {
                    "ApiId": api_id,
                    "IntegrationId": mock_id,
                    "IntegrationResponseId": have["IntegrationResponseId"],
                    **response,
                },
            )
        )
    if calls:
        ctx.change("update", "api-integration", f"{api.name} -> mock", calls, "keepalive_ack")


def _plan_routes(ctx: PlanContext, api: _Api, api_id: str | None) -> None:
    routes = ctx.aws.routes(api_id) if api_id else []
    seen: set[str] = set()
    target = Template(f"integrations/{{{api.id}}}")
    mock_target = Template(f"integrations/{{{_MOCK_ID}}}")
    want = {key: ctx.known(target) for key in api.route_keys}
    want.update({key: ctx.known(mock_target) for key in api.mock_route_keys})
    for route in routes:
        key = str(route["RouteKey"])
        ok = key in want and key not in seen and route.get("Target") == want[key]
        if ok and key in api.mock_route_keys:  # two-way: its answer goes back to the socket
            ok = route.get("RouteResponseSelectionExpression") == "$default"
        if ok:
            seen.add(key)
            continue
        ctx.change(
            "delete",
            "api-route",
            f"{api.name} {key}",
            [
                APICall(
                    "apigatewayv2",
                    "delete_route",
                    {"ApiId": api_id, "RouteId": route["RouteId"]},
                )
            ],
            "duplicate" if key in seen else "not wanted",
        )
    for key in api.route_keys:
        if key in seen:
            continue
        ctx.change(
            "create",
            "api-route",
            f"{api.name} {key}",
            [
                APICall(
                    "apigatewayv2",
                    "create_route",
                    {"ApiId": Var(api.id_var), "RouteKey": key, "Target": target},
                )
            ],
        )
    for key in api.mock_route_keys:
        if key in seen:
            continue
        route_var = f"{api.kind}_{key}_route_id"
        ctx.change(
            "create",
            "api-route",
            f"{api.name} {key}",
            [
                APICall(
                    "apigatewayv2",
                    "create_route",
                    {
                        "ApiId": Var(api.id_var),
                        "RouteKey": key,
                        "Target": mock_target,
                        "RouteResponseSelectionExpression": "$default",
                    },
                    output_var=route_var,
                    output_path="RouteId",
                ),
                APICall(
                    "apigatewayv2",
                    "create_route_response",
                    {
                        "ApiId": Var(api.id_var),
                        "RouteId": Var(route_var),
                        "RouteResponseKey": "$default",
                    },
                    output_var=f"{api.kind}_{key}_route_response_id",
                    output_path="RouteResponseId",
                ),
            ],
            "mock",
        )


def _plan_stage(ctx: PlanContext, api: _Api, api_id: str | None) -> None:
    stages = [s for s in (ctx.aws.stages(api_id) if api_id else []) if s["StageName"] == api.stage]
    throttled = {key: dict(KEEPALIVE_THROTTLE) for key in api.mock_route_keys}
    if not stages:
        ctx.change(
            "create",
            "api-stage",
            f"{api.name} {api.stage}",
            [
                APICall(
                    "apigatewayv2",
                    "create_stage",
                    {
                        "ApiId": Var(api.id_var),
                        "StageName": api.stage,
                        "AutoDeploy": True,
                        "DefaultRouteSettings": {
                            "ThrottlingBurstLimit": 500,
                            "ThrottlingRateLimit": 1000,
                        },
                        **({"RouteSettings": throttled} if throttled else {}),
                        "Tags": dict(ctx.config.tags),
                    },
                )
            ],
            "AutoDeploy",
        )
        return
    update: dict[str, Any] = {}
    if not stages[0].get("AutoDeploy"):
        update["AutoDeploy"] = True
    settings = stages[0].get("RouteSettings") or {}
    if any(
        {k: settings.get(key, {}).get(k) for k in KEEPALIVE_THROTTLE} != KEEPALIVE_THROTTLE
        for key in throttled
    ):
        update["RouteSettings"] = throttled
    if update:
        ctx.change(
            "update",
            "api-stage",
            f"{api.name} {api.stage}",
            [
                APICall(
                    "apigatewayv2",
                    "update_stage",
                    {"ApiId": api_id, "StageName": api.stage, **update},
                )
            ],
            ", ".join("throttling" if k == "RouteSettings" else k for k in update),
        )
