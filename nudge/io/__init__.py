"""Files in and out: the one table reader for user spreadsheets, and the writers of exports."""
