"""Turns on SNS's delivery-status logs for SMS sent straight to numbers, for the stack of an
environment: the account's SMS preferences name the stack's SmsDeliveryStatusRole and sample
every success. `make sms-delivery-status ENV=dev|prod`, once after the first deploy (README,
Deploying); `make preflight` checks it.

The preferences are account-wide (every SMS sender in the account and region shares them),
which is why a deploy step sets them and not the stack itself.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import preflight  # noqa: E402


def turn_on(cloudformation, sns, stack: str) -> str:
    """Sets the preferences; returns the role they now name."""
    role = preflight.stack_output(cloudformation, stack, "SmsDeliveryStatusRoleArn")
    if role is None:
        raise SystemExit(f"{stack} has no SmsDeliveryStatusRoleArn output: deploy it first")
    sns.set_sms_attributes(attributes={"DeliveryStatusIAMRole": role, "DeliveryStatusSuccessSamplingRate": "100"})
    return role


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, choices=["dev", "prod"])
    args = parser.parse_args()
    import boto3

    stack, region, _ = preflight.environment(args.env)
    session = boto3.session.Session(region_name=region)
    role = turn_on(session.client("cloudformation"), session.client("sns"), stack)
    print(f"SMS delivery reports in {region} now go through {role} (every success, every failure)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
