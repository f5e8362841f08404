"""nudge: planning and geo tool for the 'Еңбек – елдің мұраты' campaign.

The library has one module per topic; nothing in it imports Streamlit.
"""

from __future__ import annotations

from nudge.settings import Settings, settings_from_env

__version__ = "0.1.0"

__all__ = ["Settings", "__version__", "settings_from_env"]
