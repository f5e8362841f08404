"""Evaluation of the campaign: rollout designs with their power, survey estimates, exposure."""
