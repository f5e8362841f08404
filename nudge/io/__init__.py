"""Files in and out: the one table reader, the limits on files read, the writers of exports.

`nudge.io.limits` refuses, before reading, files too large, packed files that unpack to
far more than they hold (decompression bombs) and layers whose coordinates are not degrees.
"""
