"""Field capture: XLSForm forms from a plan, and ODK/Kobo submissions into the registry."""
