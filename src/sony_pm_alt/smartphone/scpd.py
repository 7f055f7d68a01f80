"""The service descriptions (SCPD) of this mode: what the emulator serves, and what the client
falls back to when a camera's own is missing or unreadable.

XPushList's actions are from a source [S] (docs/smartphone.md); ErrCode's type (``ui4``) and the
ContentDirectory document (the standard ContentDirectory:1 Browse) are assumptions [A].
"""

from __future__ import annotations

XPUSHLIST = "urn:schemas-sony-com:service:XPushList:1"
CONTENT_DIRECTORY = "urn:schemas-upnp-org:service:ContentDirectory:1"


def _service_scpd(actions: str, variables: str) -> bytes:
    return (
        '<?xml version="1.0"?>\n<scpd xmlns="urn:schemas-upnp-org:service-1-0">'
        "<specVersion><major>1</major><minor>0</minor></specVersion>"
        f"<actionList>{actions}</actionList><serviceStateTable>{variables}</serviceStateTable>"
        "</scpd>"
    ).encode()


def _action(name: str, *args: tuple[str, str, str]) -> str:
    arguments = "".join(
        f"<argument><name>{n}</name><direction>{d}</direction>"
        f"<relatedStateVariable>{v}</relatedStateVariable></argument>"
        for n, d, v in args
    )
    return f"<action><name>{name}</name><argumentList>{arguments}</argumentList></action>"


def _variable(name: str, kind: str) -> str:
    return (
        f'<stateVariable sendEvents="no"><name>{name}</name>'
        f"<dataType>{kind}</dataType></stateVariable>"
    )


XPLS_SCPD = _service_scpd(
    _action("X_TransferStart")
    + _action("X_TransferEnd", ("ErrCode", "in", "X_ErrCode"))
    + _action("X_TransferProgress", ("Progress", "in", "X_Progress")),
    _variable("X_ErrCode", "ui4") + _variable("X_Progress", "ui4"),
)
CDS_SCPD = _service_scpd(
    _action(
        "Browse",
        ("ObjectID", "in", "A_ARG_TYPE_ObjectID"),
        ("BrowseFlag", "in", "A_ARG_TYPE_BrowseFlag"),
        ("Filter", "in", "A_ARG_TYPE_Filter"),
        ("StartingIndex", "in", "A_ARG_TYPE_Index"),
        ("RequestedCount", "in", "A_ARG_TYPE_Count"),
        ("SortCriteria", "in", "A_ARG_TYPE_SortCriteria"),
        ("Result", "out", "A_ARG_TYPE_Result"),
        ("NumberReturned", "out", "A_ARG_TYPE_Count"),
        ("TotalMatches", "out", "A_ARG_TYPE_Count"),
        ("UpdateID", "out", "A_ARG_TYPE_UpdateID"),
    ),
    "".join(
        _variable(name, kind)
        for name, kind in (
            ("A_ARG_TYPE_ObjectID", "string"),
            ("A_ARG_TYPE_BrowseFlag", "string"),
            ("A_ARG_TYPE_Filter", "string"),
            ("A_ARG_TYPE_Index", "ui4"),
            ("A_ARG_TYPE_Count", "ui4"),
            ("A_ARG_TYPE_SortCriteria", "string"),
            ("A_ARG_TYPE_Result", "string"),
            ("A_ARG_TYPE_UpdateID", "ui4"),
        )
    ),
)


BUILT_IN = {XPUSHLIST: XPLS_SCPD, CONTENT_DIRECTORY: CDS_SCPD}
