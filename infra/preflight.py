"""`make preflight ENV=dev|prod`: what a deploy of that environment needs, checked before
CloudFormation runs, read-only. Each check says what it found and, when it fails, the exact
fix. Exit status 1 if any check fails (warnings do not fail it).

The environment's parameters are read from samconfig.toml the way SAM CLI reads them (its own
parser, from .venv-deploy), so what is checked is what `sam deploy --config-env <env>` sends.
AWS is asked through boto3 with the usual credentials (AWS_PROFILE, ...): Lambda's account
settings, SNS's SMS settings, IoT's data endpoint, ACM and WAF in us-east-1 (where CloudFront
takes them from), and the stack's state. Tests: infra/test_preflight.py (recorded answers).
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

ROOT = Path(__file__).resolve().parent.parent

# Lambda keeps this many executions unreserved in every account; a reservation that would
# leave fewer fails the whole create (and rolls the stack back).
MIN_UNRESERVED = 100
# A value samconfig.toml ships with, to be replaced by the account's own.
PLACEHOLDER = "REPLACE_ME"
# Destinations where SNS cannot send from an alphanumeric sender id (SNS's country list).
NO_SENDER_ID = {"ZA", "US", "CA", "CN", "BR"}
GUEST_FUNCTIONS = 3


@dataclass
class Finding:
    ok: bool
    check: str
    detail: str
    fix: str = ""
    warning: bool = False


def template_defaults(template: Path = ROOT / "template.yaml") -> dict[str, str]:
    """The template's parameter defaults, for what samconfig does not set."""
    from samtranslator.yaml_helper import yaml_parse

    parameters = yaml_parse(template.read_text())["Parameters"]
    return {name: str(p["Default"]) for name, p in parameters.items() if "Default" in p}


def environment(env: str, config: Path = ROOT / "samconfig.toml") -> tuple[str, str, dict[str, str]]:
    """(stack name, region, parameters) of `sam deploy --config-env <env>`, parsed by SAM CLI."""
    from samcli.cli.types import CfnParameterOverridesType
    from samcli.lib.config.samconfig import SamConfig

    samconfig = SamConfig(str(config.parent), filename=config.name)
    deploy = {**samconfig.get_all(["deploy"], "parameters", env=env)}
    overrides = deploy.get("parameter_overrides", "")
    if isinstance(overrides, list):
        overrides = tuple(overrides)
    parameters = CfnParameterOverridesType().convert(overrides, None, None) if overrides else {}
    return deploy.get("stack_name", ""), deploy.get("region", ""), {**template_defaults(), **dict(parameters)}


def check_placeholders(env: str, parameters: Mapping[str, str]) -> Finding:
    missing = sorted(name for name, value in parameters.items() if PLACEHOLDER in value)
    if missing:
        return Finding(
            False,
            "Parameters",
            f"still {PLACEHOLDER}: {', '.join(missing)}",
            f"set them in samconfig.toml under [{env}.deploy.parameters] parameter_overrides",
        )
    return Finding(True, "Parameters", "every value set")


def check_alarm_email(parameters: Mapping[str, str]) -> Finding:
    if not parameters.get("AlarmEmail"):
        return Finding(
            True,
            "Alarm e-mail",
            "no AlarmEmail: the alarms reach the topic and nobody",
            "set AlarmEmail in samconfig.toml, or subscribe someone to the AlarmTopicArn output",
            warning=True,
        )
    return Finding(True, "Alarm e-mail", f"{parameters['AlarmEmail']} (confirm the subscription e-mail after the deploy)")


def check_concurrency(lambda_client, parameters: Mapping[str, str]) -> Finding:
    limit = lambda_client.get_account_settings()["AccountLimit"]
    unreserved = limit["UnreservedConcurrentExecutions"]
    wanted = GUEST_FUNCTIONS * int(parameters["GuestReservedConcurrency"]) + int(parameters["SweepReservedConcurrency"])
    left = unreserved - wanted
    detail = f"{unreserved} executions unreserved of {limit['ConcurrentExecutions']}; this stack reserves {wanted}"
    if left >= MIN_UNRESERVED:
        return Finding(True, "Lambda concurrency", detail)
    return Finding(
        False,
        "Lambda concurrency",
        f"{detail}, which would leave {left} (Lambda requires {MIN_UNRESERVED}): the create would fail and roll back",
        "add GuestReservedConcurrency=0 and SweepReservedConcurrency=0 to this environment's parameter_overrides "
        "in samconfig.toml (nothing reserved), or ask for more: Service Quotas > AWS Lambda > Concurrent executions (L-B99A9384)",
    )


def check_sms_sandbox(sns_client) -> Finding:
    if sns_client.get_sms_sandbox_account_status()["IsInSandbox"]:
        return Finding(
            False,
            "SMS sandbox",
            "the account is in the SMS sandbox: only verified numbers receive texts",
            "SNS console > Text messaging (SMS) > Exit SMS sandbox (a support case naming the countries and the use case)",
        )
    return Finding(True, "SMS sandbox", "out of the sandbox")


def check_spend_limit(sns_client, parameters: Mapping[str, str]) -> Finding:
    attributes = sns_client.get_sms_attributes(attributes=["MonthlySpendLimit"])["attributes"]
    limit = float(attributes.get("MonthlySpendLimit", "1"))
    alarm = float(parameters["SmsSpendAlarmUsd"])
    if limit <= 1:
        return Finding(
            False,
            "SMS spend limit",
            f"USD {limit:g} a month (the default): about {int(limit / 0.02)} texts, then SNS stops sending",
            "raise it with a support case (SNS text messaging quota), then set it under SNS > Text messaging preferences",
        )
    if alarm >= limit:
        return Finding(
            True,
            "SMS spend limit",
            f"USD {limit:g} a month, SmsSpendAlarmUsd {alarm:g} at or above it: the alarm would come too late",
            f"set SmsSpendAlarmUsd below {limit:g} in samconfig.toml",
            warning=True,
        )
    return Finding(True, "SMS spend limit", f"USD {limit:g} a month; the spend alarm at {alarm:g}")


def check_sms_rate(quotas_client, parameters: Mapping[str, str]) -> Finding:
    """The account's SMS rate, as Service Quotas reports SNS's SMS-per-second quota, against
    SmsPerSecond (the pace the SMS sender keeps). An account whose quota Service Quotas does
    not list gets a warning: the rate is then only in the SNS console or a support case."""
    wanted = int(parameters["SmsPerSecond"])
    quotas = quotas_client.list_service_quotas(ServiceCode="sns").get("Quotas", [])
    rates = [
        q for q in quotas if "sms" in q.get("QuotaName", "").lower() and "per second" in q.get("QuotaName", "").lower()
    ]
    if not rates:
        return Finding(
            True,
            "SMS rate",
            f"Service Quotas lists no SNS SMS-per-second quota here; SmsPerSecond is {wanted}",
            "confirm the account's SMS rate (SNS > Text messaging, or AWS Support) is at least SmsPerSecond",
            warning=True,
        )
    granted = min(int(q.get("Value", 0)) for q in rates)
    name = rates[0]["QuotaName"]
    if granted < wanted:
        return Finding(
            False,
            "SMS rate",
            f"{name}: {granted}, below SmsPerSecond {wanted}: the senders would meet SNS throttling at every burst",
            f"set SmsPerSecond={granted} in samconfig.toml, or ask for more: Service Quotas > Amazon SNS > {name}",
        )
    return Finding(True, "SMS rate", f"{name}: {granted}; the SMS sender paces to {wanted}")


def check_sender_id(parameters: Mapping[str, str]) -> Finding:
    sender = parameters["SmsSenderId"]
    countries = {c.strip().upper() for c in parameters["PhoneRegions"].split(",") if c.strip()}
    refused = sorted(countries & NO_SENDER_ID)
    if sender and refused:
        return Finding(
            False,
            "SMS sender id",
            f"SmsSenderId={sender}, but {', '.join(refused)} do not take alphanumeric sender ids",
            "remove SmsSenderId from samconfig.toml (texts go out from SNS's numbers)",
        )
    return Finding(True, "SMS sender id", f"{sender or 'none'} for {', '.join(sorted(countries))}")


def check_iot_endpoint(iot_client, parameters: Mapping[str, str]) -> Finding:
    actual = "https://" + iot_client.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
    given = parameters.get("IotDataEndpoint", "").rstrip("/")
    if given == actual:
        return Finding(True, "IoT data endpoint", actual)
    return Finding(
        False,
        "IoT data endpoint",
        f"IotDataEndpoint is {given or 'not set'}; the account's is {actual}",
        f"set IotDataEndpoint={actual} in samconfig.toml",
    )


def check_certificate(acm_us_east_1, parameters: Mapping[str, str]) -> Finding:
    domain, arn = parameters["GuestPageDomain"], parameters["GuestPageCertificateArn"]
    if not domain and not arn:
        return Finding(True, "Guest page domain", "none: the page is at the distribution's own address")
    if not domain or not arn:
        return Finding(
            False,
            "Guest page domain",
            "GuestPageDomain and GuestPageCertificateArn go together (the template refuses one alone)",
            "set both in samconfig.toml, or neither",
        )
    if ":us-east-1:" not in arn:
        return Finding(False, "Guest page domain", f"{arn} is not in us-east-1", "request the certificate in us-east-1 (CloudFront takes none from elsewhere)")
    try:
        certificate = acm_us_east_1.describe_certificate(CertificateArn=arn)["Certificate"]
    except acm_us_east_1.exceptions.ResourceNotFoundException:
        return Finding(False, "Guest page domain", f"no certificate {arn} in us-east-1", f"aws acm request-certificate --region us-east-1 --domain-name {domain} --validation-method DNS")
    names = certificate.get("SubjectAlternativeNames", [certificate.get("DomainName", "")])
    if certificate["Status"] != "ISSUED":
        return Finding(False, "Guest page domain", f"the certificate is {certificate['Status']}", "finish its DNS validation (ACM console, us-east-1) and wait for ISSUED")
    if not any(fnmatch.fnmatch(domain, name) and name.count(".") == domain.count(".") for name in names):
        return Finding(False, "Guest page domain", f"the certificate covers {', '.join(names)}, not {domain}", f"request one for {domain} in us-east-1")
    return Finding(True, "Guest page domain", f"{domain}, certificate issued")


def check_web_acl(wafv2_us_east_1, parameters: Mapping[str, str], stack: str) -> Finding:
    if parameters["EnableWaf"] == "false":
        return Finding(True, "Guest web ACL", "EnableWaf=false: no web ACL (a test stack only)", warning=True)
    arn = parameters["WebAclArn"]
    deploy = (
        f".venv-deploy/bin/sam deploy --template-file infra/guest-waf.yaml --stack-name {stack}-guest-waf "
        "--region us-east-1, then put its GuestWebAclArn output in samconfig.toml as WebAclArn"
    )
    if not arn:
        return Finding(False, "Guest web ACL", "EnableWaf is true and no WebAclArn is given (the template refuses it)", deploy)
    parts = arn.split(":")
    if len(parts) < 6 or parts[3] != "us-east-1" or not parts[5].startswith("global/webacl/"):
        return Finding(False, "Guest web ACL", f"{arn} is no CloudFront web ACL (those are global/webacl/ in us-east-1)", deploy)
    _, _, name, acl_id = parts[5].split("/", 3)
    try:
        wafv2_us_east_1.get_web_acl(Name=name, Scope="CLOUDFRONT", Id=acl_id)
    except wafv2_us_east_1.exceptions.WAFNonexistentItemException:
        return Finding(False, "Guest web ACL", f"no web ACL {arn}", deploy)
    return Finding(True, "Guest web ACL", name)


def check_stack(cloudformation, stack: str, region: str) -> Finding:
    try:
        status = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except cloudformation.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return Finding(True, "Stack", f"{stack} does not exist yet: this deploy creates it")
        raise
    if status == "ROLLBACK_COMPLETE":
        return Finding(
            False,
            "Stack",
            f"{stack} is ROLLBACK_COMPLETE (its first create failed): CloudFormation cannot update it",
            f".venv-deploy/bin/sam delete --stack-name {stack} --region {region} --no-prompts (the table and bucket of a failed create "
            "are deleted with it: RetainExceptOnCreate), then fix the failure above and deploy again",
        )
    if status.endswith("_IN_PROGRESS"):
        return Finding(False, "Stack", f"{stack} is {status}", "wait for it to finish (aws cloudformation wait ...)")
    return Finding(True, "Stack", f"{stack} is {status}")


def stack_output(cloudformation, stack: str, key: str) -> str | None:
    """An output of the stack, or None if the stack (or the output) does not exist."""
    try:
        outputs = cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    except cloudformation.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    return next((o["OutputValue"] for o in outputs if o["OutputKey"] == key), None)


def check_sms_delivery_logs(logs_client, parameters: Mapping[str, str], region: str) -> Finding:
    """The stack makes SNS's two delivery-status log groups unless told they exist; a
    name that exists already fails the create, one that is missing fails the subscription."""
    groups = logs_client.describe_log_groups(logGroupNamePrefix=f"sns/{region}/")["logGroups"]
    exist = any(g["logGroupName"].endswith("/DirectPublishToPhoneNumber") for g in groups)
    said = parameters["SmsDeliveryLogGroupsExist"] == "true"
    if exist and not said:
        return Finding(
            False,
            "SMS delivery logs",
            "SNS already made its delivery-status log groups in this account: creating them again fails the deploy",
            "set SmsDeliveryLogGroupsExist=true in this environment's parameter_overrides in samconfig.toml",
        )
    if said and not exist:
        return Finding(
            False,
            "SMS delivery logs",
            "SmsDeliveryLogGroupsExist=true, but there are no such log groups: the subscriptions would fail",
            "set SmsDeliveryLogGroupsExist=false in samconfig.toml (the stack then makes them)",
        )
    if exist:
        # The stack cannot set the retention of groups it does not own, and SNS makes
        # them to be kept forever: they hold every guest's full phone number.
        days = int(parameters["SmsDeliveryLogRetentionDays"])
        delivery_logs = [
            g for g in groups if g["logGroupName"].endswith(("/DirectPublishToPhoneNumber", "/DirectPublishToPhoneNumber/Failure"))
        ]
        too_long = [g["logGroupName"] for g in delivery_logs if g.get("retentionInDays", days + 1) > days]
        if too_long:
            fixes = "; ".join(
                f"aws logs put-retention-policy --log-group-name {name} --retention-in-days {days}" for name in too_long
            )
            return Finding(
                False,
                "SMS delivery logs",
                f"{', '.join(too_long)} keep(s) full phone numbers longer than SmsDeliveryLogRetentionDays ({days} days)",
                fixes,
            )
    return Finding(True, "SMS delivery logs", "exist, subscribed to" if exist else "the stack makes them")


def check_sms_delivery_status(clients: Callable[[str, str], object], region: str, stack: str, env: str) -> Finding:
    """The account's SMS preferences name the stack's delivery-status role, sampling every
    success: without them SNS writes no reports and every SMS stays "sent, not yet confirmed"."""
    role = stack_output(clients("cloudformation", region), stack, "SmsDeliveryStatusRoleArn")
    fix = f"make sms-delivery-status ENV={env} (after the deploy)"
    if role is None:
        return Finding(True, "SMS delivery reports", "set once the stack exists", fix, warning=True)
    wanted = ["DeliveryStatusIAMRole", "DeliveryStatusSuccessSamplingRate"]
    attributes = clients("sns", region).get_sms_attributes(attributes=wanted)["attributes"]
    if attributes.get("DeliveryStatusIAMRole") != role or attributes.get("DeliveryStatusSuccessSamplingRate") != "100":
        return Finding(
            False,
            "SMS delivery reports",
            f"the account's SMS preferences do not send reports to {role} for every SMS (have {attributes})",
            fix,
        )
    return Finding(True, "SMS delivery reports", f"every SMS reported through {role}")


def check_gate_policy(clients: Callable[[str, str], object], region: str, stack: str) -> Finding:
    """The stack's IoT policy for the gates (GatePolicy) exists and ties each gate to its own
    thing: gate-events believes a report's thing from its topic only because of it."""
    name = stack_output(clients("cloudformation", region), stack, "GatePolicyName")
    attach = "attach it to each gate's certificate when provisioning (README: Deploying, gates)"
    if name is None:
        return Finding(True, "Gate IoT policy", "made by this deploy", attach, warning=True)
    iot = clients("iot", region)
    try:
        document = iot.get_policy(policyName=name)["policyDocument"]
    except iot.exceptions.ResourceNotFoundException:
        return Finding(False, "Gate IoT policy", f"{name} is gone: no gate can connect as its own thing",
                       "deploy again (the stack makes it), then re-attach it to the gates' certificates")
    if "iot:Connection.Thing.ThingName" not in document or "iot:Connection.Thing.IsAttached" not in document:
        return Finding(False, "Gate IoT policy", f"{name} no longer ties a certificate to its own thing's topics",
                       "deploy again: the template's GatePolicy replaces the edited document")
    return Finding(True, "Gate IoT policy", f"{name}: each gate connects as its own thing, on its own ota shadow only")


def run(env: str, clients: Callable[[str, str], object], config: Path = ROOT / "samconfig.toml") -> list[Finding]:
    """Every check for `env`; `clients(service, region)` gives a boto3 client."""
    stack, region, parameters = environment(env, config)
    return [
        check_placeholders(env, parameters),
        check_alarm_email(parameters),
        check_stack(clients("cloudformation", region), stack, region),
        check_concurrency(clients("lambda", region), parameters),
        check_sms_sandbox(clients("sns", region)),
        check_spend_limit(clients("sns", region), parameters),
        check_sms_rate(clients("service-quotas", region), parameters),
        check_sender_id(parameters),
        check_iot_endpoint(clients("iot", region), parameters),
        check_certificate(clients("acm", "us-east-1"), parameters),
        check_web_acl(clients("wafv2", "us-east-1"), parameters, stack),
        check_sms_delivery_logs(clients("logs", region), parameters, region),
        check_sms_delivery_status(clients, region, stack, env),
        check_gate_policy(clients, region, stack),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, choices=["dev", "prod"])
    args = parser.parse_args()
    import boto3

    session = boto3.session.Session()
    findings = run(args.env, lambda service, region: session.client(service, region_name=region))
    for finding in findings:
        mark = "!" if finding.warning else ("ok" if finding.ok else "FAIL")
        print(f"[{mark:>4}] {finding.check}: {finding.detail}")
        if finding.fix and (not finding.ok or finding.warning):
            print(f"       fix: {finding.fix}")
    failed = [f for f in findings if not f.ok]
    print(f"\npreflight {args.env}: {len(findings) - len(failed)} of {len(findings)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
