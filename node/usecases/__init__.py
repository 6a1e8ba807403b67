"""The use cases, one module per capability: certificates, catalogue, cases (and the case commands declared
once), forgetting a person, the transparency log and witnessing, commands peers forward. Each loads
aggregates, calls one command, saves through node.store."""
