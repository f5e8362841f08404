"""Evaluation of the campaign: rollout designs with their power, survey estimates, exposure.

`nudge.evaluation.exposure.exposure_by_region` counts what was installed, published and held
per region and period, on the regions and periods of the survey estimates.
"""
