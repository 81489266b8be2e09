"""infra/preflight.py against recorded AWS answers (botocore's Stubber: no network, no
account), one case per problem it must catch, and samconfig.toml read the way SAM CLI reads
it. Run by `make test` (`.venv-deploy/bin/python -m unittest discover -s infra -p 'test_*.py'`)."""

import sys
import tempfile
import unittest
from pathlib import Path

import boto3
from botocore.stub import Stubber

sys.path.insert(0, str(Path(__file__).resolve().parent))
import preflight  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-123456789012"
ACL = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/ota-prod-guest-waf/5a4b3c2d-1111-2222-3333-444455556666"


def client(service, region="eu-west-1"):
    return boto3.client(service, region_name=region, aws_access_key_id="x", aws_secret_access_key="x")


class Recorded:
    """A client whose one call answers `response` (or fails with `error`)."""

    def __init__(self, service, method, response=None, error=None, region="eu-west-1", expected=None):
        self.client = client(service, region)
        self.stubber = Stubber(self.client)
        if error:
            self.stubber.add_client_error(method, service_error_code=error[0], service_message=error[1], expected_params=expected)
        else:
            self.stubber.add_response(method, response, expected)
        self.stubber.activate()

    def __enter__(self):
        return self.client

    def __exit__(self, *exc):
        self.stubber.deactivate()


def params(**overrides):
    return {**preflight.template_defaults(), **overrides}


class Concurrency(unittest.TestCase):
    def settings(self, unreserved, total=1000):
        return {"AccountLimit": {"ConcurrentExecutions": total, "UnreservedConcurrentExecutions": unreserved}}

    def test_a_new_accounts_small_quota_is_caught_with_the_fix(self):
        with Recorded("lambda", "get_account_settings", self.settings(10, 10)) as lam:
            finding = preflight.check_concurrency(lam, params())
        self.assertFalse(finding.ok)
        self.assertIn("GuestReservedConcurrency=0 and SweepReservedConcurrency=0", finding.fix)
        self.assertIn("L-B99A9384", finding.fix)

    def test_enough_unreserved_passes_and_none_reserved_always_fits(self):
        with Recorded("lambda", "get_account_settings", self.settings(1000)) as lam:
            self.assertTrue(preflight.check_concurrency(lam, params()).ok)
        with Recorded("lambda", "get_account_settings", self.settings(100, 100)) as lam:
            zero = params(GuestReservedConcurrency="0", SweepReservedConcurrency="0")
            self.assertTrue(preflight.check_concurrency(lam, zero).ok)


class Sms(unittest.TestCase):
    def test_the_sandbox_is_caught(self):
        with Recorded("sns", "get_sms_sandbox_account_status", {"IsInSandbox": True}) as sns:
            finding = preflight.check_sms_sandbox(sns)
        self.assertFalse(finding.ok)
        self.assertIn("Exit SMS sandbox", finding.fix)

    def test_the_default_spend_limit_is_caught(self):
        with Recorded("sns", "get_sms_attributes", {"attributes": {"MonthlySpendLimit": "1"}}) as sns:
            finding = preflight.check_spend_limit(sns, params())
        self.assertFalse(finding.ok)
        self.assertIn("support case", finding.fix)

    def test_an_alarm_above_the_limit_is_warned_of(self):
        with Recorded("sns", "get_sms_attributes", {"attributes": {"MonthlySpendLimit": "40"}}) as sns:
            finding = preflight.check_spend_limit(sns, params(SmsSpendAlarmUsd="50"))
        self.assertTrue(finding.ok)
        self.assertTrue(finding.warning)

    def test_an_sms_rate_below_the_senders_pace_is_caught(self):
        quota = {"QuotaName": "Transactional SMS messages per second", "QuotaCode": "L-SMS", "Value": 20.0}
        with Recorded("service-quotas", "list_service_quotas", {"Quotas": [quota]}) as quotas:
            finding = preflight.check_sms_rate(quotas, params(SmsPerSecond="100"))
        self.assertFalse(finding.ok)
        self.assertIn("SmsPerSecond=20", finding.fix)
        with Recorded("service-quotas", "list_service_quotas", {"Quotas": [quota]}) as quotas:
            self.assertTrue(preflight.check_sms_rate(quotas, params(SmsPerSecond="20")).ok)

    def test_an_sms_rate_service_quotas_does_not_list_is_warned_of(self):
        with Recorded("service-quotas", "list_service_quotas", {"Quotas": []}) as quotas:
            finding = preflight.check_sms_rate(quotas, params())
        self.assertTrue(finding.ok)
        self.assertTrue(finding.warning)

    def test_a_sender_id_for_south_africa_is_refused(self):
        finding = preflight.check_sender_id(params(SmsSenderId="Fluss", PhoneRegions="ZA,NA"))
        self.assertFalse(finding.ok)
        self.assertIn("remove SmsSenderId", finding.fix)
        self.assertTrue(preflight.check_sender_id(params(SmsSenderId="Fluss", PhoneRegions="GB")).ok)


class Endpoints(unittest.TestCase):
    def test_a_wrong_iot_endpoint_is_caught_with_the_right_one(self):
        answer = {"endpointAddress": "a1b2c3-ats.iot.eu-west-1.amazonaws.com"}
        with Recorded("iot", "describe_endpoint", answer, expected={"endpointType": "iot:Data-ATS"}) as iot:
            finding = preflight.check_iot_endpoint(iot, params(IotDataEndpoint="a1b2c3-ats.iot.eu-west-1.amazonaws.com"))
        self.assertFalse(finding.ok)
        self.assertIn("IotDataEndpoint=https://a1b2c3-ats.iot.eu-west-1.amazonaws.com", finding.fix)

    def test_a_domain_without_an_issued_us_east_1_certificate_is_caught(self):
        self.assertFalse(preflight.check_certificate(None, params(GuestPageDomain="ote.fluss.me")).ok)
        elsewhere = CERT.replace("us-east-1", "eu-west-1")
        finding = preflight.check_certificate(None, params(GuestPageDomain="ote.fluss.me", GuestPageCertificateArn=elsewhere))
        self.assertIn("us-east-1", finding.fix)
        pending = {"Certificate": {"CertificateArn": CERT, "DomainName": "ote.fluss.me", "Status": "PENDING_VALIDATION"}}
        with Recorded("acm", "describe_certificate", pending, region="us-east-1") as acm:
            finding = preflight.check_certificate(acm, params(GuestPageDomain="ote.fluss.me", GuestPageCertificateArn=CERT))
        self.assertFalse(finding.ok)
        self.assertIn("DNS validation", finding.fix)
        other = {"Certificate": {"CertificateArn": CERT, "DomainName": "*.other.me", "SubjectAlternativeNames": ["*.other.me"], "Status": "ISSUED"}}
        with Recorded("acm", "describe_certificate", other, region="us-east-1") as acm:
            self.assertFalse(preflight.check_certificate(acm, params(GuestPageDomain="ote.fluss.me", GuestPageCertificateArn=CERT)).ok)
        wildcard = {"Certificate": {"CertificateArn": CERT, "DomainName": "*.fluss.me", "SubjectAlternativeNames": ["*.fluss.me"], "Status": "ISSUED"}}
        with Recorded("acm", "describe_certificate", wildcard, region="us-east-1") as acm:
            self.assertTrue(preflight.check_certificate(acm, params(GuestPageDomain="ote.fluss.me", GuestPageCertificateArn=CERT)).ok)

    def test_a_missing_or_misplaced_web_acl_is_caught_with_its_deploy_command(self):
        finding = preflight.check_web_acl(None, params(), "ota-prod")
        self.assertFalse(finding.ok)
        self.assertIn("infra/guest-waf.yaml --stack-name ota-prod-guest-waf --region us-east-1", finding.fix)
        regional = ACL.replace("us-east-1", "eu-west-1").replace("global/", "regional/")
        self.assertFalse(preflight.check_web_acl(None, params(WebAclArn=regional), "ota-prod").ok)
        with Recorded("wafv2", "get_web_acl", error=("WAFNonexistentItemException", "gone"), region="us-east-1") as waf:
            self.assertFalse(preflight.check_web_acl(waf, params(WebAclArn=ACL), "ota-prod").ok)
        found = {"WebACL": {"Name": "ota-prod-guest-waf", "Id": "5a4b3c2d-1111-2222-3333-444455556666", "ARN": ACL,
                            "DefaultAction": {"Allow": {}}, "VisibilityConfig": {"SampledRequestsEnabled": True,
                            "CloudWatchMetricsEnabled": True, "MetricName": "m"}}, "LockToken": "t"}
        expected = {"Name": "ota-prod-guest-waf", "Scope": "CLOUDFRONT", "Id": "5a4b3c2d-1111-2222-3333-444455556666"}
        with Recorded("wafv2", "get_web_acl", found, region="us-east-1", expected=expected) as waf:
            self.assertTrue(preflight.check_web_acl(waf, params(WebAclArn=ACL), "ota-prod").ok)


class Stack(unittest.TestCase):
    def stack(self, status):
        return {"Stacks": [{"StackName": "ota-dev", "CreationTime": "2026-12-01T00:00:00Z", "StackStatus": status}]}

    def test_a_rolled_back_first_create_is_caught_with_the_delete(self):
        with Recorded("cloudformation", "describe_stacks", self.stack("ROLLBACK_COMPLETE")) as cfn:
            finding = preflight.check_stack(cfn, "ota-dev", "eu-west-1")
        self.assertFalse(finding.ok)
        self.assertIn("sam delete --stack-name ota-dev --region eu-west-1", finding.fix)

    def test_no_stack_yet_or_a_healthy_one_passes(self):
        with Recorded("cloudformation", "describe_stacks", error=("ValidationError", "Stack with id ota-dev does not exist")) as cfn:
            self.assertTrue(preflight.check_stack(cfn, "ota-dev", "eu-west-1").ok)
        with Recorded("cloudformation", "describe_stacks", self.stack("UPDATE_COMPLETE")) as cfn:
            self.assertTrue(preflight.check_stack(cfn, "ota-dev", "eu-west-1").ok)


class SmsDeliveryReports(unittest.TestCase):
    ROLE = "arn:aws:iam::123456789012:role/ota-dev-SmsDeliveryStatusRole-1A2B3C"

    def stack_with_role(self):
        return {"Stacks": [{"StackName": "ota-dev", "CreationTime": "2026-12-01T00:00:00Z", "StackStatus": "CREATE_COMPLETE",
                            "Outputs": [{"OutputKey": "SmsDeliveryStatusRoleArn", "OutputValue": self.ROLE}]}]}

    def clients(self, sms_attributes):
        def make(service, region):
            if service == "cloudformation":
                return Recorded("cloudformation", "describe_stacks", self.stack_with_role()).client
            return Recorded("sns", "get_sms_attributes", {"attributes": sms_attributes}).client
        return make

    def test_preferences_that_name_another_role_or_sample_less_are_caught(self):
        for attributes in [{}, {"DeliveryStatusIAMRole": "arn:aws:iam::123456789012:role/other", "DeliveryStatusSuccessSamplingRate": "100"},
                           {"DeliveryStatusIAMRole": self.ROLE, "DeliveryStatusSuccessSamplingRate": "10"}]:
            finding = preflight.check_sms_delivery_status(self.clients(attributes), "eu-west-1", "ota-dev", "dev")
            self.assertFalse(finding.ok, attributes)
            self.assertIn("make sms-delivery-status ENV=dev", finding.fix)
        good = {"DeliveryStatusIAMRole": self.ROLE, "DeliveryStatusSuccessSamplingRate": "100"}
        self.assertTrue(preflight.check_sms_delivery_status(self.clients(good), "eu-west-1", "ota-dev", "dev").ok)

    def test_the_step_sets_the_stacks_role_and_full_sampling(self):
        import sms_delivery_status
        with Recorded("cloudformation", "describe_stacks", self.stack_with_role()) as cfn, Recorded(
            "sns", "set_sms_attributes", {},
            expected={"attributes": {"DeliveryStatusIAMRole": self.ROLE, "DeliveryStatusSuccessSamplingRate": "100"}},
        ) as sns:
            self.assertEqual(sms_delivery_status.turn_on(cfn, sns, "ota-dev"), self.ROLE)

    def test_log_groups_sns_made_already_must_be_said_or_the_create_fails(self):
        existing = {"logGroups": [{"logGroupName": "sns/eu-west-1/123456789012/DirectPublishToPhoneNumber", "retentionInDays": 3}]}
        with Recorded("logs", "describe_log_groups", existing) as logs:
            self.assertFalse(preflight.check_sms_delivery_logs(logs, params(), "eu-west-1").ok)
        with Recorded("logs", "describe_log_groups", existing) as logs:
            self.assertTrue(preflight.check_sms_delivery_logs(logs, params(SmsDeliveryLogGroupsExist="true"), "eu-west-1").ok)
        with Recorded("logs", "describe_log_groups", {"logGroups": []}) as logs:
            self.assertFalse(preflight.check_sms_delivery_logs(logs, params(SmsDeliveryLogGroupsExist="true"), "eu-west-1").ok)

    def test_log_groups_sns_made_that_keep_numbers_too_long_are_caught_with_the_fix(self):
        prefix = "sns/eu-west-1/123456789012/DirectPublishToPhoneNumber"
        forever = {"logGroups": [{"logGroupName": prefix}, {"logGroupName": f"{prefix}/Failure", "retentionInDays": 30}]}
        with Recorded("logs", "describe_log_groups", forever) as logs:
            finding = preflight.check_sms_delivery_logs(logs, params(SmsDeliveryLogGroupsExist="true"), "eu-west-1")
        self.assertFalse(finding.ok)
        self.assertIn(f"aws logs put-retention-policy --log-group-name {prefix} --retention-in-days 3", finding.fix)
        self.assertIn(f"--log-group-name {prefix}/Failure --retention-in-days 3", finding.fix)
        kept = {"logGroups": [{"logGroupName": prefix, "retentionInDays": 1}, {"logGroupName": f"{prefix}/Failure", "retentionInDays": 3}]}
        with Recorded("logs", "describe_log_groups", kept) as logs:
            self.assertTrue(preflight.check_sms_delivery_logs(logs, params(SmsDeliveryLogGroupsExist="true"), "eu-west-1").ok)


class GatePolicy(unittest.TestCase):
    NAME = "ota-dev-gate"

    def clients(self, policy=None, error=None):
        stack = {"Stacks": [{"StackName": "ota-dev", "CreationTime": "2026-12-01T00:00:00Z", "StackStatus": "UPDATE_COMPLETE",
                             "Outputs": [{"OutputKey": "GatePolicyName", "OutputValue": self.NAME}]}]}

        def make(service, region):
            if service == "cloudformation":
                return Recorded("cloudformation", "describe_stacks", stack).client
            return Recorded("iot", "get_policy", policy, error=error, expected={"policyName": self.NAME}).client
        return make

    def test_a_deleted_or_loosened_gate_policy_is_caught(self):
        gone = self.clients(error=("ResourceNotFoundException", "no such policy"))
        self.assertFalse(preflight.check_gate_policy(gone, "eu-west-1", "ota-dev").ok)
        loose = self.clients({"policyName": self.NAME, "policyDocument": '{"Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}'})
        self.assertFalse(preflight.check_gate_policy(loose, "eu-west-1", "ota-dev").ok)
        document = '{"Statement":[{"Resource":"client/${iot:Connection.Thing.ThingName}","Condition":{"Bool":{"iot:Connection.Thing.IsAttached":"true"}}}]}'
        good = self.clients({"policyName": self.NAME, "policyDocument": document})
        self.assertTrue(preflight.check_gate_policy(good, "eu-west-1", "ota-dev").ok)


class Whole(unittest.TestCase):
    def test_run_asks_each_service_in_its_region_and_reports_every_check(self):
        asked = []
        answers = {
            "cloudformation": ("describe_stacks", None, ("ValidationError", "Stack with id ota-prod does not exist")),
            "lambda": ("get_account_settings", {"AccountLimit": {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 1000}}, None),
            "iot": ("describe_endpoint", {"endpointAddress": "a1-ats.iot.eu-west-1.amazonaws.com"}, None),
            "logs": ("describe_log_groups", {"logGroups": []}, None),
            "service-quotas": ("list_service_quotas", {"Quotas": []}, None),
        }
        sns_calls = [("get_sms_sandbox_account_status", {"IsInSandbox": False}), ("get_sms_attributes", {"attributes": {"MonthlySpendLimit": "100"}})]

        def clients(service, region):
            asked.append((service, region))
            made = client(service, region)
            stubber = Stubber(made)
            if service == "sns":
                method, response = sns_calls.pop(0)
                stubber.add_response(method, response)
            elif service in answers:
                method, response, error = answers[service]
                if error:
                    stubber.add_client_error(method, service_error_code=error[0], service_message=error[1])
                else:
                    stubber.add_response(method, response)
            stubber.activate()
            return made

        findings = preflight.run("prod", clients)
        self.assertEqual([f.check for f in findings][:3], ["Parameters", "Alarm e-mail", "Stack"])
        self.assertFalse(findings[0].ok, "the shipped REPLACE_ME values")
        self.assertIn(("acm", "us-east-1"), asked)
        self.assertIn(("wafv2", "us-east-1"), asked)
        self.assertIn(("lambda", "eu-west-1"), asked)


class Samconfig(unittest.TestCase):
    """What `sam deploy --config-env <env>` sends, parsed by SAM CLI's own code."""

    def test_each_environment_holds_every_parameter_a_deploy_needs(self):
        for env in ["dev", "prod"]:
            stack, region, parameters = preflight.environment(env)
            self.assertEqual(stack, f"ota-{env}")
            self.assertTrue(region)
            for name in ["JwtIssuer", "JwtAudience", "IotDataEndpoint", "WebAclArn", "AlarmEmail"]:
                self.assertIn(name, parameters, f"{env} lacks {name}")
            self.assertEqual(parameters["EnableWaf"], "true", f"{env} is behind the web ACL")
            self.assertFalse(preflight.check_placeholders(env, parameters).ok, "shipped placeholders are caught")
        # No environment's links can point at another's page: dev derives its own, prod has its domain.
        _, _, dev = preflight.environment("dev")
        _, _, prod = preflight.environment("prod")
        self.assertEqual((dev["LinkBaseUrl"], dev["GuestPageDomain"]), ("", ""))
        self.assertEqual(prod["LinkBaseUrl"], "")
        self.assertEqual(prod["GuestPageDomain"], "ote.fluss.me")
        self.assertIn("GuestPageCertificateArn", prod)

    def test_the_runbook_never_passes_parameter_overrides_which_would_replace_samconfigs(self):
        readme = (ROOT / "README.md").read_text()
        deploying = readme[readme.index("## Deploying"):readme.index("## Layout")]
        # Whole commands: lines continued with a backslash joined.
        commands = [c for c in deploying.replace("\\\n", " ").splitlines() if "sam deploy" in c and "--config-env" in c]
        self.assertTrue(commands)
        self.assertFalse(any("--parameter-overrides" in line for line in commands), commands)

    def test_parameter_overrides_given_as_a_list_or_a_string_read_the_same(self):
        # As SAM CLI reads them: a value with spaces is quoted in either form.
        with tempfile.TemporaryDirectory() as work:
            config = Path(work) / "samconfig.toml"
            config.write_text(
                'version = 0.1\n[a.deploy.parameters]\nstack_name = "s"\nregion = "r"\n'
                'parameter_overrides = ["A=1", "B=\\"two words\\""]\n'
                '[b.deploy.parameters]\nstack_name = "s"\nregion = "r"\n'
                "parameter_overrides = 'A=1 B=\"two words\"'\n"
            )
            a = preflight.environment("a", config)[2]
            b = preflight.environment("b", config)[2]
        self.assertEqual((a["A"], a["B"]), ("1", "two words"))
        self.assertEqual(a, b)


if __name__ == "__main__":
    unittest.main()
