"""Deployments: the factory, the DeploymentPlan, DeployedSoftware and the state store."""
