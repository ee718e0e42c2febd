"""`kmsauthz audit`: findings on key policies (and the IAM policies that use KMS) before deployment.

Rules run over the policy model; inputs are JSON and `.kmsp` policies, scenario files,
CloudFormation templates and Terraform plan JSON; outputs are text, JSON and SARIF 2.1.0.
"""

from kmsauthz.audit.engine import AuditReport, audit_paths, audit_policy, audit_results
from kmsauthz.audit.findings import Finding, Severity, Suppression
from kmsauthz.audit.inputs import UnreadableInput
from kmsauthz.audit.rules import RULES, Rule
from kmsauthz.audit.target import AuditTarget

__all__ = [
    "RULES",
    "AuditReport",
    "AuditTarget",
    "Finding",
    "Rule",
    "Severity",
    "Suppression",
    "UnreadableInput",
    "audit_paths",
    "audit_policy",
    "audit_results",
]
