"""Plan steps for the network: account and VPC, security groups, the TURN load balancer."""

from __future__ import annotations

from typing import Any

from ...turn import TURN_PORT
from ..models import APICall, Instruction, Var, Wait
from .context import PlanContext, tags_list
from .names import LOAD_BALANCER_WAIT, SFU_MEDIA_PORTS, TURN_RELAY_PORTS

__all__ = [
    "plan_context",
    "plan_listener",
    "plan_load_balancer",
    "plan_security_groups",
    "plan_target_group",
]


def plan_context(ctx: PlanContext) -> None:
    """Account, region and partition; the VPC, its subnets and the NLB's two zones."""
    cfg, aws = ctx.config, ctx.aws
    ctx.values["account"] = aws.account_id
    ctx.values["region"] = aws.region
    ctx.values["partition"] = aws.partition
    vpc = cfg.vpc_id or aws.default_vpc()
    if vpc is None:
        raise RuntimeError(
            f"region {aws.region} has no default VPC: pass --vpc-id and --subnets "
            "(public subnets, one per availability zone)"
        )
    ctx.values["vpc_id"] = vpc
    pairs = aws.subnets(vpc)
    subnets = list(cfg.subnets) or [s for s, _ in pairs]
    if not subnets:
        raise RuntimeError(f"VPC {vpc} has no subnets")
    by_az: dict[str, str] = {}
    azs = dict(pairs)
    for subnet in subnets:
        by_az.setdefault(azs.get(subnet, subnet), subnet)
    ctx.values["subnets"] = ",".join(subnets)
    # two AZs keep the NLB's public IPs (billed per hour) few; coturn runs in the same ones
    ctx.values["nlb_subnets"] = ",".join(list(by_az.values())[:2])


def _rules(*specs: tuple[str, int, int]) -> set[tuple[str, int, int, str]]:
    return {(proto, lo, hi, "0.0.0.0/0") for proto, lo, hi in specs}


def _sg_rules(group: dict[str, Any]) -> set[tuple[str, int, int, str]]:
    out: set[tuple[str, int, int, str]] = set()
    for perm in group.get("IpPermissions", []):
        for rng in perm.get("IpRanges", []):
            out.add(
                (
                    str(perm.get("IpProtocol")),
                    int(perm.get("FromPort", -1)),
                    int(perm.get("ToPort", -1)),
                    str(rng.get("CidrIp")),
                )
            )
    return out


def _permissions(rules: set[tuple[str, int, int, str]]) -> list[dict[str, Any]]:
    return [
        {"IpProtocol": p, "FromPort": lo, "ToPort": hi, "IpRanges": [{"CidrIp": cidr}]}
        for p, lo, hi, cidr in sorted(rules)
    ]


def plan_security_groups(ctx: PlanContext) -> None:
    """The SFU's and coturn's security groups and their ingress rules."""
    desired = {
        "sfu": (ctx.names.sfu_sg, _rules(("udp", *SFU_MEDIA_PORTS)), "WebRTC media to SFU tasks"),
        "turn": (
            ctx.names.turn_sg,
            _rules(
                ("udp", TURN_PORT, TURN_PORT),
                ("tcp", TURN_PORT, TURN_PORT),
                ("udp", *TURN_RELAY_PORTS),
            ),
            "STUN/TURN and relay ports of coturn tasks",
        ),
    }
    for key, (name, rules, description) in desired.items():
        var = f"{key}_sg"
        group = ctx.aws.security_group(ctx.values["vpc_id"], name)
        if group is None:
            ctx.change(
                "create",
                "security-group",
                name,
                [
                    APICall(
                        "ec2",
                        "create_security_group",
                        {
                            "GroupName": name,
                            "Description": description,
                            "VpcId": ctx.values["vpc_id"],
                            "TagSpecifications": [
                                {
                                    "ResourceType": "security-group",
                                    "Tags": tags_list(ctx.config.tags),
                                }
                            ],
                        },
                        output_var=var,
                        output_path="GroupId",
                    ),
                    APICall(
                        "ec2",
                        "authorize_security_group_ingress",
                        {"GroupId": Var(var), "IpPermissions": _permissions(rules)},
                    ),
                ],
                ", ".join(f"{p} {lo}-{hi}" for p, lo, hi, _ in sorted(rules)),
            )
            continue
        ctx.values[var] = str(group["GroupId"])
        ctx.plan.resources[f"security-group:{name}"] = ctx.values[var]
        have = _sg_rules(group)
        calls: list[Instruction] = []
        if rules - have:
            calls.append(
                APICall(
                    "ec2",
                    "authorize_security_group_ingress",
                    {"GroupId": group["GroupId"], "IpPermissions": _permissions(rules - have)},
                )
            )
        if have - rules:
            calls.append(
                APICall(
                    "ec2",
                    "revoke_security_group_ingress",
                    {"GroupId": group["GroupId"], "IpPermissions": _permissions(have - rules)},
                )
            )
        if calls:
            ctx.change("update", "security-group", name, calls, "ingress rules")


_LB_ATTRIBUTES = {"load_balancing.cross_zone.enabled": "true"}
"""Cross-zone on: the NLB node of a zone without a coturn task forwards to the other zone
(off by default, when a zone's node would answer nothing until DNS fails over)."""


def plan_load_balancer(ctx: PlanContext) -> None:
    """The internet-facing NLB in front of coturn: two zones, cross-zone load balancing on."""
    n, cfg = ctx.names, ctx.config
    set_attrs = APICall(
        "elbv2",
        "modify_load_balancer_attributes",
        {
            "LoadBalancerArn": Var("nlb_arn"),
            "Attributes": [{"Key": k, "Value": val} for k, val in _LB_ATTRIBUTES.items()],
        },
    )
    lb = ctx.aws.load_balancer(n.nlb)
    if lb is None:
        ctx.change(
            "create",
            "load-balancer",
            n.nlb,
            [
                APICall(
                    "elbv2",
                    "create_load_balancer",
                    {
                        "Name": n.nlb,
                        "Type": "network",
                        "Scheme": "internet-facing",
                        "IpAddressType": "ipv4",
                        "Subnets": ctx.values["nlb_subnets"].split(","),
                        "Tags": tags_list(cfg.tags),
                    },
                    output_var="nlb_arn",
                    output_path="LoadBalancers.0.LoadBalancerArn",
                ),
                set_attrs,
                Wait(
                    f"load balancer {n.nlb}",
                    "load_balancer_dns",
                    {"name": n.nlb},
                    output_var="nlb_dns",
                    timeout=LOAD_BALANCER_WAIT,
                ),
            ],
            "network, internet-facing, cross-zone",
        )
        return
    ctx.values["nlb_arn"] = str(lb["LoadBalancerArn"])
    ctx.values["nlb_dns"] = str(lb["DNSName"])
    ctx.plan.resources[f"load-balancer:{n.nlb}"] = ctx.values["nlb_arn"]
    have = ctx.aws.load_balancer_attributes(ctx.values["nlb_arn"])
    if any(have.get(k) != val for k, val in _LB_ATTRIBUTES.items()):
        ctx.change("update", "load-balancer", n.nlb, [set_attrs], "cross-zone load balancing on")


_TG_ATTRIBUTES = {
    "stickiness.enabled": "true",
    "stickiness.type": "source_ip",
    # a coturn task being replaced keeps its clients' flows (their TURN allocations) for
    # 50 minutes (AWS allows up to an hour) before it stops; destroy sets it to 0 first
    "deregistration_delay.timeout_seconds": "3000",
}
_TG_HEALTH: dict[str, Any] = {
    "HealthCheckProtocol": "TCP",
    "HealthCheckPort": "traffic-port",
    "HealthCheckIntervalSeconds": 10,
    "HealthyThresholdCount": 3,
    "UnhealthyThresholdCount": 3,
}


def plan_target_group(ctx: PlanContext) -> None:
    """coturn's target group: TCP_UDP, IP targets, TCP health checks, source-IP stickiness."""
    n, cfg = ctx.names, ctx.config
    attributes, health = _TG_ATTRIBUTES, _TG_HEALTH
    set_attrs = APICall(
        "elbv2",
        "modify_target_group_attributes",
        {
            "TargetGroupArn": Var("tg_arn"),
            "Attributes": [{"Key": k, "Value": val} for k, val in attributes.items()],
        },
    )
    tg = ctx.aws.target_group(n.target_group)
    if tg is None:
        ctx.change(
            "create",
            "target-group",
            n.target_group,
            [
                APICall(
                    "elbv2",
                    "create_target_group",
                    {
                        "Name": n.target_group,
                        "Protocol": "TCP_UDP",
                        "Port": TURN_PORT,
                        "VpcId": ctx.values["vpc_id"],
                        "TargetType": "ip",
                        "Tags": tags_list(cfg.tags),
                        **health,
                    },
                    output_var="tg_arn",
                    output_path="TargetGroups.0.TargetGroupArn",
                ),
                set_attrs,
            ],
            "TCP_UDP 3478, health check TCP, stickiness source_ip",
        )
    else:
        ctx.values["tg_arn"] = str(tg["TargetGroupArn"])
        ctx.plan.resources[f"target-group:{n.target_group}"] = ctx.values["tg_arn"]
        have = ctx.aws.target_group_attributes(ctx.values["tg_arn"])
        calls: list[Instruction] = []
        if any(have.get(k) != val for k, val in attributes.items()):
            calls.append(set_attrs)
        if tg.get("HealthCheckProtocol") != "TCP" or tg.get("HealthCheckPort") != "traffic-port":
            calls.append(
                APICall(
                    "elbv2",
                    "modify_target_group",
                    {"TargetGroupArn": ctx.values["tg_arn"], **health},
                )
            )
        if calls:
            ctx.change("update", "target-group", n.target_group, calls, "stickiness/health")


def plan_listener(ctx: PlanContext) -> None:
    """The NLB's TCP_UDP listener on the TURN port, forwarding to the target group."""
    n, cfg = ctx.names, ctx.config
    listeners = ctx.aws.listeners(ctx.values["nlb_arn"]) if "nlb_arn" in ctx.values else []
    ours = [x for x in listeners if x.get("Port") == TURN_PORT]
    forward = [{"Type": "forward", "TargetGroupArn": Var("tg_arn")}]
    if not ours:
        ctx.change(
            "create",
            "listener",
            f"{n.nlb}:{TURN_PORT}",
            [
                APICall(
                    "elbv2",
                    "create_listener",
                    {
                        "LoadBalancerArn": Var("nlb_arn"),
                        "Protocol": "TCP_UDP",
                        "Port": TURN_PORT,
                        "DefaultActions": forward,
                        "Tags": tags_list(cfg.tags),
                    },
                    output_var="listener_arn",
                    output_path="Listeners.0.ListenerArn",
                )
            ],
            f"TCP_UDP {TURN_PORT} -> {n.target_group}",
        )
        return
    ctx.values["listener_arn"] = str(ours[0]["ListenerArn"])
    ctx.plan.resources[f"listener:{n.nlb}:{TURN_PORT}"] = ctx.values["listener_arn"]
    actions = ours[0].get("DefaultActions", [])
    if (
        ours[0].get("Protocol") != "TCP_UDP"
        or len(actions) != 1
        or actions[0].get("TargetGroupArn") != ctx.values.get("tg_arn")
    ):
        ctx.change(
            "update",
            "listener",
            f"{n.nlb}:{TURN_PORT}",
            [
                APICall(
                    "elbv2",
                    "modify_listener",
                    {
                        "ListenerArn": ctx.values["listener_arn"],
                        "Protocol": "TCP_UDP",
                        "DefaultActions": forward,
                    },
                )
            ],
        )
    for dup in ours[1:]:
        ctx.change(
            "delete",
            "listener",
            str(dup["ListenerArn"]),
            [APICall("elbv2", "delete_listener", {"ListenerArn": dup["ListenerArn"]})],
            "duplicate",
        )
