"""Content of the campaign: proverbs, labour dynasties and contest winners.

The public API, for the CLI and the Streamlit pages:

- `load_library` (the library in the shared database, each entry with its version;
  or a folder of YAML files), `ContentLibrary` (``put``, ``retire``, ``restore``
  with an expected version, ``frame``), `StaleVersionError`, `import_items`,
  `export_items` (YAML, CSV and XLSX);
- `campaign_from_file` (language rule, formats and limits), `validate_items`
  (returns a `ValidationReport`; ``as_dict()`` is the JSON of
  ``nudge content validate``), `check_kazakh`, `check_russian`, `fix_lookalikes`;
- `rules_from_file`, `match_content` (a `MatchResult` with suitability and
  ``explain(site_id, item_id)``);
- `plan_rotation` (a `RotationResult` with calendar, schedule, exposure and
  print orders), `write_rotation` (CSV files and one XLSX workbook).
"""

from __future__ import annotations

from nudge.content.calendar import write_rotation
from nudge.content.campaign import CampaignSettings, TextFormat, campaign_from_file
from nudge.content.language import check_kazakh, check_russian, fix_lookalikes
from nudge.content.library import (
    ContentLibrary,
    ImportReport,
    export_items,
    import_items,
    load_library,
)
from nudge.content.matching import MatchResult, match_content, plan_from_file, rules_from_file
from nudge.content.rotation import RotationResult, Violation, plan_rotation
from nudge.content.schema import COLLECTIONS, THEMES
from nudge.content.validation import ValidationReport, validate_items
from nudge.db.content import StaleVersionError

__all__ = [
    "COLLECTIONS",
    "THEMES",
    "CampaignSettings",
    "ContentLibrary",
    "ImportReport",
    "MatchResult",
    "RotationResult",
    "StaleVersionError",
    "TextFormat",
    "ValidationReport",
    "Violation",
    "campaign_from_file",
    "check_kazakh",
    "check_russian",
    "export_items",
    "fix_lookalikes",
    "import_items",
    "load_library",
    "match_content",
    "plan_from_file",
    "plan_rotation",
    "rules_from_file",
    "validate_items",
    "write_rotation",
]
