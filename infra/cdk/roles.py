"""IAM roles from the permission model (infra/cdk/permissions.py): one role
per function family, each statement on the one resource it names.

Chalice neither creates roles nor generates policies (manage_iam_role and
autogen_policy off): the stack points every packaged function at its
family's role. Log permissions are separate policies (log group -> function
-> role would otherwise be a cycle): each role writes only the log groups of
its own functions, and may not create groups (no unbounded retention).
"""
from __future__ import annotations

from typing import Callable

from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.cdk.permissions import Family, Grant, family_of

#: symbolic resource -> its ARNs (LiveReportStack.resource_arns)
ResourceArns = Callable[[str], list[str]]


def statement(grant: Grant, arns: ResourceArns) -> iam.PolicyStatement:
    """A grant as an Allow statement; partitions become dynamodb:LeadingKeys.

    ForAllValues: every partition key the request touches must match one of
    the patterns (BatchWriteItem carries several; each item of a transaction
    is authorised on its own)."""
    conditions = ({"ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(grant.partitions)}}
                  if grant.partitions else None)
    return iam.PolicyStatement(sid=grant.sid, actions=list(grant.actions), resources=arns(grant.resource),
                               conditions=conditions)


class FunctionRoles(Construct):
    """Creates a family's role on first use; one role per family."""

    def __init__(self, scope: Construct, construct_id: str, stage: str, arns: ResourceArns) -> None:
        super().__init__(scope, construct_id)
        self._stage, self._arns = stage, arns
        self.roles: dict[str, iam.Role] = {}
        self.functions: dict[str, list[str]] = {}  # role id -> its functions' logical ids

    def role(self, family: Family) -> iam.Role:
        if family.role_id not in self.roles:
            self.roles[family.role_id] = iam.Role(
                self, family.role_id,
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"livereport {self._stage} {family.description}"[:1000],
                inline_policies={"livereport": iam.PolicyDocument(
                    statements=[statement(g, self._arns) for g in family.grants])})
        return self.roles[family.role_id]

    def role_of(self, function: str) -> iam.Role:
        """The role a packaged function runs as; a function in no family stops the synth."""
        family = family_of(function)
        if family is None:
            raise ValueError(f"functions/app.py defines {function}, which belongs to no family in "
                             "infra/cdk/permissions.py: add it to one (or add a Family) so it gets a role")
        role = self.role(family)
        functions = self.functions.setdefault(family.role_id, [])
        if function not in functions:
            functions.append(function)
        return role

    def allow_logs(self, log_group_arns: dict[str, str]) -> None:
        """Function logical id -> its log group ARN: each role may write its own functions' groups."""
        for role_id, functions in self.functions.items():
            iam.Policy(self, f"{role_id}Logs", roles=[self.roles[role_id]], statements=[
                iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                                    resources=[log_group_arns[f] for f in functions])])
