"""PostgreSQL log timestamps to UTC, vectorised.

``%m`` / csvlog / jsonlog write ``2026-11-26 05:09:21.105 UTC``, ``%t`` the same without
milliseconds, ``%n`` a Unix epoch with milliseconds; the zone is ``log_timezone``'s abbreviation
(``UTC``, ``EST``, ``CEST``) or, for zones without one, a numeric offset (``+03``, ``-0330``).
An abbreviation this table does not know needs ``log_timezone="Area/City"`` from the caller.
Text becomes a time stamp in :mod:`toolkit.schema` (range-checked, never wrapping):
:func:`utc_times` gives each bad value's reason (not a valid time; outside the years 1678-2261,
local or in UTC), which the readers count when they skip its record.

    >>> to_utc(["2026-11-26 00:09:32", "2026-11-26 00:09:33"], ["EST", "EST"]).tolist()
    [Timestamp('2026-11-26 05:09:32+0000', tz='UTC'), Timestamp('2026-11-26 05:09:33+0000', tz='UTC')]
"""

from __future__ import annotations

import datetime
import re

import numpy as np
import pandas as pd

from .. import schema
from ..errors import ParseError

# Minutes east of UTC of the abbreviations PostgreSQL's tz database prints most often.
ABBREVIATIONS = {
    "UTC": 0, "GMT": 0, "Z": 0, "UCT": 0, "WET": 0, "WEST": 60, "BST": 60, "CET": 60, "CEST": 120,
    "MET": 60, "MEST": 120, "EET": 120, "EEST": 180, "MSK": 180, "IST": 330, "PKT": 300,
    "HKT": 480, "SGT": 480, "AWST": 480, "CST": -360, "CDT": -300, "EST": -300, "EDT": -240,
    "MST": -420, "MDT": -360, "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600,
    "AST": -240, "ADT": -180, "NST": -210, "NDT": -150, "JST": 540, "KST": 540, "AEST": 600,
    "AEDT": 660, "ACST": 570, "ACDT": 630, "NZST": 720, "NZDT": 780, "SAST": 120, "WAT": 60,
    "CAT": 120, "EAT": 180,
}
_NUMERIC = re.compile(r"^([+-])([0-9][0-9]):?([0-9][0-9])?$")


def offset_minutes(tz: str) -> int | None:
    """Minutes east of UTC of a zone as PostgreSQL prints it (an abbreviation of
    :data:`ABBREVIATIONS` or ``+03`` / ``-0330``), None when not one of those."""
    if tz in ABBREVIATIONS:
        return ABBREVIATIONS[tz]
    m = _NUMERIC.match(tz)
    if m:
        minutes = int(m[2]) * 60 + int(m[3] or 0)
        return minutes if m[1] == "+" else -minutes
    return None


def to_utc(ts, tz, *, name: str = "<input>", log_timezone: str | None = None,
           fmt: str | None = None) -> pd.DatetimeIndex:
    """UTC timestamps from local ``ts`` strings and their zone abbreviations ``tz``.

    Unparseable and out-of-range values become NaT (:func:`utc_times` says why).
    ``log_timezone`` (an IANA name) is used for abbreviations not in :data:`ABBREVIATIONS` (and
    for all rows when ``tz`` is None).
    """
    return utc_times(ts, tz, name=name, log_timezone=log_timezone, fmt=fmt).values


def utc_times(ts, tz, *, name: str = "<input>", log_timezone: str | None = None,
              fmt: str | None = None) -> schema.Checked:
    """:func:`to_utc` with the reason of each bad value (:class:`toolkit.schema.Checked`)."""
    checked = schema.time_values(ts, "timestamp", format=fmt or "ISO8601")
    local = checked.values.tz_localize(None)
    if tz is None:
        zones = np.array([""], dtype=object)
        codes = np.zeros(len(local), dtype=np.int64)
    else:
        codes, zones = pd.factorize(pd.Index(tz, dtype=object))
    out = np.empty(len(local), dtype="datetime64[ns]")
    out[:] = np.datetime64("NaT")
    values = local.to_numpy(dtype="datetime64[ns]")
    for k, zone in enumerate(zones):
        rows = codes == k
        minutes = offset_minutes(zone) if zone else None
        if minutes is not None:
            out[rows] = values[rows] - np.timedelta64(minutes, "m")
            continue
        if log_timezone is None:
            raise ParseError(f"unknown time zone abbreviation {zone!r} in the timestamps", name,
                             expected="a known abbreviation; pass log_timezone='Area/City' "
                                      "(SHOW log_timezone; on the server)")
        conv = pd.DatetimeIndex(values[rows]).tz_localize(log_timezone, ambiguous="NaT",
                                                           nonexistent="NaT").tz_convert("UTC")
        out[rows] = conv.tz_localize(None).to_numpy()
    if (codes < 0).any():  # a missing zone: leave NaT
        out[codes < 0] = np.datetime64("NaT")
    # local times are within 1678-2261: a zone's offset moves them a few hours, never out of
    # datetime64[ns]; the UTC result is held to the same years
    utc = schema.utc_ns(out)
    reasons = checked.reasons.copy()
    new = utc.bad & (reasons == None)  # noqa: E711
    reasons[new] = utc.reasons[new]
    return schema.Checked(utc.values, reasons)


def epoch_to_utc(values) -> schema.Checked:
    """``%n`` epochs (``1764133761.105``: three decimals, read as whole milliseconds) to UTC,
    with the reasons of bad values."""
    return schema.epoch_values(values, "timestamp", decimals=3)


_PLAIN_SECONDS: dict[str, bool] = {}
_PLAIN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{3})?\Z")


def plain_stamp(ts: str) -> bool:
    """True when the ``%m`` / ``%t`` text ``ts`` (``2026-11-26 05:09:21.105``) is certainly a valid
    time of the years 1679-2260 in ASCII digits, as :func:`to_utc` reads it: the readers' quick
    paths take only such records and leave any other to the reader that converts it (and says
    why it cannot). A dictionary look-up, and a few microseconds for each new second."""
    ok = _PLAIN_SECONDS.get(ts[:19])
    if ok is None:
        head = ts[:19]
        try:
            ok = (_PLAIN.match(head) is not None and "1679" <= head[:4] <= "2260"
                  and datetime.datetime.strptime(head, "%Y-%m-%d %H:%M:%S") is not None)
        except ValueError:
            ok = False
        if len(_PLAIN_SECONDS) > 100_000:
            _PLAIN_SECONDS.clear()
        _PLAIN_SECONDS[head] = ok
    if len(ts) == 19 or not ok:
        return ok
    ms = ts[20:]  # (%m's milliseconds: string tests, not a pattern, for every record)
    return len(ts) == 23 and ts[19] == "." and ms.isascii() and ms.isdigit()
