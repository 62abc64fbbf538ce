"""Masking of secret values in text, env lists, Kubernetes objects and report trees.

Everything here is pure: functions take values and return masked copies plus the number of values masked.

Masks
-----
``MASK`` (``<redacted>``) replaces a value masked because of *where* it sits: the literal value of a
sensitive env name (``AZP_TOKEN``), the value of a ``password=`` / ``"token": "…"`` / ``--token …`` pair, the
password of ``scheme://user:pass@host``, the credential of an ``Authorization`` header.
A value masked because of *its own shape* says which shape it had, e.g. ``<redacted:jwt>``,
``<redacted:azure-devops-pat>``, ``<redacted:github-token>``, ``<redacted:private-key>``. Every mask
starts with ``MASK_PREFIX``, so masked text is recognised (:func:`is_masked`) and redacting twice changes
nothing.

What is kept on purpose, because a support engineer needs it and it is not a secret: image digests
(``sha256:…``), container IDs, uids, git SHAs, CA bundles and certificates, ``valueFrom`` references
(``secretKeyRef`` names and keys), variable references (``$(JENKINS_SECRET)``, ``${AZP_TOKEN}``), placeholders
such as kubectl describe's ``<set to the key 'AZP_TOKEN' in secret 'azdevops'>``, and literal values that
cannot be secrets (``true``, ``false``, ``none``, auth scheme names such as ``PAT``).

Every pattern is bounded (or possessive and anchored at a token start), so the time spent is linear in the
length of the text, also on multi-megabyte single-line logs.

Known limits: a bare (unquoted) value stops at whitespace, ``,``, ``;`` and ``&``, so an unquoted password
that contains one of them is masked only up to it; ``key: value`` in the middle of a prose line is masked
only when the value looks like a credential (mixed character classes), so that ``failed to get token:
connection refused`` stays readable; ``-pPASSWORD`` (mysql) and ``.netrc`` lines are not recognised.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

MASK_PREFIX = "<redacted"
MASK = "<redacted>"


def mask(kind: str = "") -> str:
    """The mask for a value of the given shape (``""``: a value masked because of its name or context)."""
    return f"{MASK_PREFIX}:{kind}>" if kind else MASK


def is_masked(value: str) -> bool:
    """True when ``value`` is (or starts with) a mask produced here."""
    return value.startswith(MASK_PREFIX)


# ----------------------------------------------------------------------------------------------------------
# Sensitive names
# ----------------------------------------------------------------------------------------------------------


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# A name is split into lower-case words on non-letters and camelCase boundaries: "DD_API_KEY" -> dd, api, key;
# "clientSecret" -> client, secret; "SYSTEM_ACCESSTOKEN" -> system, accesstoken.
_NON_LETTERS = re.compile(r"[^A-Za-z]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

# A word that alone makes a name sensitive.
_SENSITIVE_WORDS = _wordset(
    """
        token tokens secret secrets password passwords passwd pwd pass passphrase pat pats
        credential credentials cred creds auth oauth authorization jitconfig apikey accesskey
        privatekey secretkey licensekey sig dsn cookie salt sas jwt bearer connectionstring
        kubeconfig
    """
)
# Compound words ending like this are sensitive too ("accesstoken", "dbpassword", "tenanttoken").
_SENSITIVE_ENDINGS = tuple(
    _wordset(
        """
        token secret password passwd apikey accesskey privatekey secretkey licensekey jitconfig
        credential credentials authorization
        """
    )
)
# "key" is sensitive as the last word ("DD_API_KEY", "INSTANA_AGENT_KEY", "AccountKey") or right after one of
# these ("AWS_ACCESS_KEY_ID"), but not alone (tolerations, secretKeyRef and selectors all have a "key").
_KEY_WORDS = frozenset({"key", "keys"})
_KEY_QUALIFIERS = _wordset(
    """
        api access private secret license account service agent signing encryption master client app
        shared subscription storage instrumentation ingest write admin deploy ssh tls gpg pgp rsa
        crypto primary secondary session hmac
    """
)
# "key" after one of these is an identifier, not a credential.
_KEY_NOT_SECRET = _wordset(
    """
        public sort partition cache routing label foreign shard lookup index idempotency dedup
        dedupe row group map metric tag node match selector topology primarykey hash object bucket
        field lock ref
    """
)
# A name whose last word is one of these holds where or what a secret is, not the secret itself
# ("AZP_TOKEN_FILE", "SECRET_NAME", "PASSWORD_PATH", "AUTH_TYPE", "TOKEN_EXPIRES_AT").
_SAFE_LAST_WORDS = _wordset(
    """
        path paths file files dir dirs directory url urls uri endpoint host hostname port name names
        type types mode method enabled enable disabled required ttl expiry expires expiration at
        duration timeout ref refs version count length len size format provider scope scopes
        audience issuer realm user username login location mount namespace field prefix suffix
        policy rotation interval header algorithm kind
    """
)


def _words(name: str) -> list[str]:
    out: list[str] = []
    for chunk in _NON_LETTERS.split(name):
        if chunk:
            out.extend(p.lower() for p in _CAMEL.split(chunk) if p)
    return out


@lru_cache(maxsize=4096)
def is_sensitive_name(name: str) -> bool:
    """True when a variable, key, flag or annotation named ``name`` holds a secret value.

    Words are compared whole (``_``, ``-``, ``.``, ``/`` and camelCase separate them), so ``PATH``,
    ``LD_PRELOAD``, ``AUTHOR`` and ``MONKEY_MODE`` are not sensitive while ``AZP_TOKEN``, ``JENKINS_SECRET``,
    ``ACTIONS_RUNNER_INPUT_JITCONFIG``, ``NEW_RELIC_LICENSE_KEY``, ``GITHUB_PAT`` and ``clientSecret`` are.
    For a path-like key (``vault.hashicorp.com/agent-inject-token``) only the part after the last ``/``
    counts.
    """
    words = _words(name.rsplit("/", 1)[-1])
    if not words or words[-1] in _SAFE_LAST_WORDS:
        return False
    for i, word in enumerate(words):
        if word in _SENSITIVE_WORDS or word.endswith(_SENSITIVE_ENDINGS):
            return True
        if word in _KEY_WORDS and i > 0:
            before = words[i - 1]
            if before in _KEY_NOT_SECRET:
                continue
            if i == len(words) - 1 or before in _KEY_QUALIFIERS:
                return True
    return False


# ----------------------------------------------------------------------------------------------------------
# Values that are never secrets
# ----------------------------------------------------------------------------------------------------------

_NOT_SECRET_VALUES = _wordset(
    """
        true false yes no on off none null nil enabled disabled required optional pat basic bearer
        negotiate ntlm integrated oauth token digest kerberos anonymous undefined
    """
)
_REFERENCE = re.compile(
    r"\$\([A-Za-z_][A-Za-z0-9_]*\)"  # Kubernetes $(VAR)
    r"|\$\{[A-Za-z_][A-Za-z0-9_]*(?:[:?=+\-][^}]{0,200})?\}"  # shell ${VAR}, ${VAR:-x}
    r"|\$[A-Z_][A-Z0-9_]*"  # shell $VAR (upper case only: "$ecretPass1" is a password)
    r"|%[A-Za-z_][A-Za-z0-9_]*%"  # Windows %VAR%
    r"|\{\{.{0,200}\}\}"  # templates {{ .Values.token }}
    r"|#\{[^}]{0,200}\}"  # Azure Pipelines #{token}#
)
_HAS_ALNUM = re.compile(r"[A-Za-z0-9]")


def _keeps(value: str) -> bool:
    """True for a literal that cannot be a secret: empty, a mask, a reference, a placeholder, a flag word."""
    v = value.strip().strip("\"'")
    if not v or is_masked(v) or v.startswith(("<", "$(")) or not _HAS_ALNUM.search(v):
        return True
    return v.lower() in _NOT_SECRET_VALUES or _REFERENCE.fullmatch(v) is not None


def _looks_like_credential(value: str) -> bool:
    """A bare word that could be a credential: at least 6 characters from at least two character classes."""
    if len(value) < 6:
        return False
    classes = sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
            any(not c.isalnum() for c in value),
        )
    )
    return classes >= 2


# ----------------------------------------------------------------------------------------------------------
# Text
# ----------------------------------------------------------------------------------------------------------


class _Count:
    """A mutable counter threaded through the substitution callbacks."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0


_PEM = re.compile(
    r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
    r"(?:(?:[^\-]|-(?!----)){0,16384}+-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
    r"|[A-Za-z0-9+/=\r\n\\]{0,16384}+)"  # a truncated block: mask what is there
)


def _has_digit(s: str) -> bool:
    return any(c.isdigit() for c in s)


def _base32_pat(s: str) -> bool:
    return _has_digit(s) and any(c.isalpha() for c in s)


_ShapeCheck = Callable[[str], bool]


class _Shape(NamedTuple):
    """A token shape: its label, pattern, an optional check, and literals one of which it must contain."""

    kind: str
    pattern: re.Pattern[str]
    needles: tuple[str, ...] = ()  # () : no literal; run on any text of at least min_len characters
    check: _ShapeCheck | None = None
    min_len: int = 0


# Each pattern starts at a token start (lookbehind) and is bounded, so scanning is linear; the needles let
# short strings skip patterns that cannot match.
_SHAPES: tuple[_Shape, ...] = (
    _Shape(
        "jwt",
        re.compile(r"(?<![\w-])eyJ[A-Za-z0-9_-]{4,8192}+\.[A-Za-z0-9_-]{4,16384}+\.[A-Za-z0-9_-]{0,8192}+"),
        ("eyJ",),
    ),
    _Shape(
        "azure-devops-pat",
        re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{52}JQQJ[A-Za-z0-9]{20}AZDO[A-Za-z0-9]{4}(?![A-Za-z0-9])"),
        ("JQQJ",),
    ),
    _Shape(
        "azure-devops-pat",
        re.compile(r"(?<![A-Za-z0-9])(?:[a-z2-7]{52}|[A-Z2-7]{52})(?![A-Za-z0-9])"),
        check=_base32_pat,
        min_len=52,
    ),
    _Shape(
        "github-token",
        re.compile(r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,251}+|github_pat_\w{22,255}+)"),
        ("gh", "github_pat_"),
    ),
    _Shape(
        "gitlab-token",
        re.compile(
            r"(?<![\w-])(?:(?:glpat|glrt|gldt|glptt|glcbt|glimt|glsoat|glft|glagent|gloas|glrtr|glwt|glffct)-"
            r"[A-Za-z0-9_\-.]{20,255}+|GR1348941[A-Za-z0-9_-]{20,255}+)"
        ),
        ("gl", "GR1348941"),
    ),
    _Shape(
        "slack-token",
        re.compile(r"(?<![\w-])(?:xox[abposre]-[A-Za-z0-9-]{10,255}+|xapp-\d-[A-Za-z0-9-]{10,255}+)"),
        ("xox", "xapp-"),
    ),
    _Shape(
        "aws-access-key-id",
        re.compile(
            r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)[A-Z0-9]{16}"
            r"(?![A-Za-z0-9])"
        ),
        ("A",),
        min_len=20,
    ),
    _Shape("google-api-key", re.compile(r"(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])"), ("AIza",)),
    _Shape(
        "dynatrace-token",
        re.compile(r"(?<![\w.])dt0[a-z][0-9]{2}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}(?![A-Za-z0-9])"),
        ("dt0",),
    ),
    _Shape(
        "newrelic-key",
        re.compile(r"(?<![A-Za-z0-9-])(?:NR(?:AK|II|JS|AA)-[A-Z0-9]{27}|[A-Za-z0-9]{36}NRAL)(?![A-Za-z0-9])"),
        ("NR",),
    ),
    _Shape("npm-token", re.compile(r"(?<![\w-])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])"), ("npm_",)),
    _Shape("pypi-token", re.compile(r"(?<![\w-])pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,1024}+"), ("pypi-",)),
    _Shape("docker-hub-token", re.compile(r"(?<![\w-])dckr_pat_[A-Za-z0-9_-]{27,255}+"), ("dckr_pat_",)),
    _Shape("stripe-key", re.compile(r"(?<![\w-])(?:sk|rk)_live_[A-Za-z0-9]{16,255}+"), ("_live_",)),
    # base64 of a docker config.json ({"auths": ...), compact or pretty-printed
    _Shape(
        "docker-config",
        re.compile(r"(?<![A-Za-z0-9+/])(?:eyJhdXRocyI6|ewoJImF1dGhzIjog|ewogICJhdXRocyI6)[A-Za-z0-9+/=]{8,1048576}+"),
        ("eyJhdXRocyI6", "ewoJImF1dGhzIjog", "ewogICJhdXRocyI6"),
    ),
)

# scheme://user:password@host — the password is masked, the user and host kept.
_URL_USERINFO = re.compile(
    r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{0,30}://[^\s/?#@:\"'<>]{0,256}+:(?P<pw>[^\s/?#@\"'<>]{1,512}+)@"
)
# "Bearer <token>" anywhere (the header form is also handled by the key/value scanner).
_BEARER = re.compile(r"(?i)(?<![\w-])bearer[ \t]{1,8}(?P<tok>[A-Za-z0-9._~+/=\-]{16,8192}+)")
# An env entry rendered as JSON ({"name": "AZP_TOKEN", "value": "…"}, also inside escaped JSON) or YAML.
_ENV_JSON = re.compile(
    r"(?<!\\)(?P<q>\\*)\"name(?P=q)\"[ \t]{0,8}:[ \t]{0,8}"
    r"(?P=q)\"(?P<name>[A-Za-z_][\w.\-]{0,127})(?P=q)\"[ \t]{0,8},"
    r"[ \t]{0,8}(?P=q)\"value(?P=q)\"[ \t]{0,8}:[ \t]{0,8}"
)
_ENV_YAML = re.compile(
    r"(?<![\w.\-])name:[ \t]{0,8}"
    r"[\"']?(?P<name>[A-Za-z_][\w.\-]{0,127})[\"']?[ \t]{0,8}\r?\n"
    r"[ \t]{0,64}value:[ \t]{0,8}"
)

# The key/value scanner: a CLI flag ("--token X", "--token=X", "-Dapi.key=X") or a key followed by ":" or "="
# ("password=x", "token: x", "\"token\": \"x\"", "Password=x;" in connection strings).
_KEY = re.compile(
    r"(?<![\w.\-/])(?P<flag>--?[A-Za-z][\w.\-]{0,63}+)(?P<fsep>=|[ \t]{1,8}+)"
    r"|(?:(?<![\w.\-/\\])|(?<=\\[nrt]))(?P<kq>\\{0,8}[\"']|)(?P<key>[A-Za-z_][\w.\-/]{0,79}+)(?P=kq)"
    r"(?P<sep>[ \t]{0,8}[:=][ \t]{0,8})"
)
_BARE = re.compile(r"[^\s\"'`,;&]{1,4096}")
_BARE_FLAG = re.compile(r"[^\s\"'`]{1,4096}")
_JSON_STRING = re.compile(r"\"((?:[^\"\\\r\n]|\\.){0,8192}+)\"")
_SQ_STRING = re.compile(r"'([^'\r\n]{0,8192}+)'")
_REST_OF_LINE = re.compile(r"[^\r\n]{0,8192}")
_LOOKS_LIKE_FLAG = re.compile(r"--?[A-Za-z][A-Za-z\-]*")
_AUTH_SCHEME = re.compile(r"([A-Za-z][\w\-]{1,30})[ \t]+(?=\S)")
_AUTH_SCHEMES = _wordset(
    """
        bearer basic token digest negotiate ntlm sharedkey sharedkeylite sharedaccesssignature
        aws4-hmac-sha256 apikey api-key key sso-key ssws splunk dsn gitlab-ci-token pat
    """
)
_QUOTE_START = re.compile(r"\\{0,8}[\"']")
_BLOCK_SCALAR = re.compile(r"[|>][+\-]?[0-9]?[ \t]*(?:#.*)?")


@lru_cache(maxsize=32)
def _escaped_string(quote: str) -> re.Pattern[str]:
    """A quoted value whose quote is escaped (``\\"``), closed by the same unescaped sequence."""
    q = re.escape(quote)
    return re.compile(rf"{q}((?:(?!(?<!\\){q})[^\r\n]){{0,8192}}+)(?<!\\){q}")


def _quoted_at(text: str, pos: int) -> tuple[int, int, int] | None:
    """A quoted value starting at ``pos``: (start of content, end of content, end of the closing quote)."""
    qm = _QUOTE_START.match(text, pos)
    if qm is None:
        return None
    quote = qm.group()
    if quote == '"':
        m = _JSON_STRING.match(text, pos)
    elif quote == "'":
        m = _SQ_STRING.match(text, pos)
    else:
        m = _escaped_string(quote).match(text, pos)
    if m is None:
        # An unterminated quoted value (a truncated line): mask the rest of the line rather than leak it.
        rest = _REST_OF_LINE.match(text, qm.end())
        end = rest.end() if rest else qm.end()
        return qm.end(), end, end
    return m.start(1), m.end(1), m.end()


def _line_start(text: str, pos: int) -> bool:
    """True when only indentation, a list dash, a quote, ``{`` or ``,`` precede ``pos`` on its line."""
    i, limit = pos, max(0, pos - 80)
    while i > limit and text[i - 1] in " \t-\"'{,":
        i -= 1
    if i == 0:
        return True
    if text[i - 1] in "\r\n":
        return True
    return i >= 2 and text[i - 2] == "\\" and text[i - 1] in "nrt"


def _line_indent(text: str, pos: int) -> int:
    start = text.rfind("\n", max(0, pos - 200), pos) + 1
    i = start
    while i < pos and text[i] in " \t-":
        i += 1
    return i - start


class _Out:
    """Builds the redacted text from kept slices and masks."""

    __slots__ = ("count", "parts", "pos", "text")

    def __init__(self, text: str, count: _Count) -> None:
        self.text, self.count, self.pos = text, count, 0
        self.parts: list[str] = []

    def keep_to(self, end: int) -> None:
        if end > self.pos:
            self.parts.append(self.text[self.pos : end])
            self.pos = end

    def mask(self, start: int, end: int, kind: str = "") -> None:
        self.keep_to(start)
        self.parts.append(mask(kind))
        self.pos = end
        self.count.n += 1

    def result(self) -> str:
        self.keep_to(len(self.text))
        return "".join(self.parts)


def _mask_span(out: _Out, start: int, end: int, *, strip_brackets: bool = True) -> None:
    """Mask ``text[start:end]`` unless it is a literal that cannot be a secret."""
    value = out.text[start:end]
    if strip_brackets:
        # "{token: abc}" : keep a closing bracket that has no opener in the value
        while (
            value
            and value[-1] in ")]}"
            and value.count(value[-1]) > value.count({")": "(", "]": "[", "}": "{"}[value[-1]])
        ):
            value = value[:-1]
            end -= 1
    if not _keeps(value):
        out.mask(start, end)


def _mask_authorization(out: _Out, start: int, end: int) -> None:
    """Mask the credential of an Authorization header value, keeping a known scheme name."""
    text = out.text
    sm = _AUTH_SCHEME.match(text, start, end)
    if sm is not None and sm.group(1).lower() in _AUTH_SCHEMES:
        start = sm.end()
    value = text[start:end].rstrip()
    if value and not _keeps(value):
        out.mask(start, start + len(value))


def _value_after_key(out: _Out, key: str, sep: str, key_start: int, vpos: int) -> int:
    """Mask the value of a sensitive key that starts at ``vpos``; return where scanning goes on."""
    text = out.text
    is_auth = key.lower().rsplit("/", 1)[-1] in _AUTH_HEADERS
    quoted = _quoted_at(text, vpos)
    if quoted is not None:
        start, end, after = quoted
        if is_auth:
            _mask_authorization(out, start, end)
        else:
            _mask_span(out, start, end, strip_brackets=False)
        return after
    colon = ":" in sep
    if is_auth:
        rest = _REST_OF_LINE.match(text, vpos)
        end = rest.end() if rest else vpos
        cut = min((i for i in (text.find(c, vpos, end) for c in ('"', "'", "\\n", "\\r")) if i >= 0), default=end)
        _mask_authorization(out, vpos, cut)
        return cut
    if colon and _line_start(text, key_start):
        rest = _REST_OF_LINE.match(text, vpos)
        end = rest.end() if rest else vpos
        value = text[vpos:end]
        if _BLOCK_SCALAR.fullmatch(value.strip()):
            return _mask_block(out, key_start, end)
        escaped = text.find("\\n", vpos, end)
        if escaped >= 0:
            end = escaped
        hash_at = text.find(" #", vpos, end)
        if hash_at >= 0:
            end = hash_at
        while end > vpos and text[end - 1] in " \t\r":
            end -= 1
        _mask_span(out, vpos, end)
        return end
    bm = _BARE.match(text, vpos)
    if bm is None:
        return vpos
    if colon and not _looks_like_credential(bm.group()):
        return bm.end()
    _mask_span(out, vpos, bm.end())
    return bm.end()


def _mask_block(out: _Out, key_start: int, header_end: int) -> int:
    """Mask the lines of a YAML block scalar (``password: |``) that are indented deeper than its key."""
    text = out.text
    indent = _line_indent(text, key_start)
    pos = header_end
    first = last = -1
    while pos < len(text) and text[pos] in "\r\n":
        line_start = pos + (2 if text.startswith("\r\n", pos) else 1)
        nl = text.find("\n", line_start)
        line_end = len(text) if nl < 0 else nl
        line = text[line_start:line_end].rstrip("\r")
        if line.strip() and len(line) - len(line.lstrip(" \t")) <= indent:
            break
        if line.strip():
            if first < 0:
                first = line_start + len(line) - len(line.lstrip(" \t"))
            last = line_start + len(line)
        pos = line_end
    if first >= 0:
        if not _keeps(text[first:last]):
            out.mask(first, last)
        return last
    return header_end


def _value_after_flag(out: _Out, flag: str, fsep: str, vpos: int) -> int:
    """Mask the value of a sensitive CLI flag; ``-u user:pass`` masks only the password."""
    text = out.text
    name = flag.lstrip("-")
    sensitive = is_sensitive_name(name)
    if not sensitive and not flag.startswith("--") and len(name) > 1 and name[0] == "D":
        sensitive = is_sensitive_name(name[1:])  # Java system property: -Dapi.key=…
    user_flag = name in ("u", "user", "proxy-user")
    if not sensitive and not user_flag:
        return vpos
    quoted = _quoted_at(text, vpos)
    if quoted is not None:
        start, end, after = quoted
    else:
        bm = _BARE_FLAG.match(text, vpos)
        if bm is None:
            return vpos
        start, end = bm.start(), bm.end()
        after = end
        if fsep != "=" and _LOOKS_LIKE_FLAG.fullmatch(bm.group()):
            return vpos  # "--token --other": the flag has no value here
    if user_flag:
        colon = text.find(":", start, end)
        if colon < 0:
            return after
        start = colon + 1
    _mask_span(out, start, end, strip_brackets=False)
    return after


def _scan_pairs(text: str, count: _Count) -> str:
    """Mask values of sensitive keys and flags (one left-to-right pass)."""
    out = _Out(text, count)
    pos = 0
    n = len(text)
    while pos < n:
        m = _KEY.search(text, pos)
        if m is None:
            break
        flag = m.group("flag")
        if flag is not None:
            pos = _value_after_flag(out, flag, m.group("fsep"), m.end())
        else:
            key = m.group("key")
            if is_sensitive_name(key):
                pos = _value_after_key(out, key, m.group("sep"), m.start("key"), m.end())
            else:
                pos = m.end()
        if pos <= m.start():
            pos = m.start() + 1
    return out.result()


def _scan_env_pairs(text: str, count: _Count) -> str:
    """Mask values of env entries written out as JSON or YAML (name on one key, value on the next)."""
    for pattern in (_ENV_JSON, _ENV_YAML):
        if "name" not in text:
            return text
        out = _Out(text, count)
        for m in pattern.finditer(text):
            if m.start() < out.pos or not is_sensitive_name(m.group("name")):
                continue
            vpos = m.end()
            quoted = _quoted_at(text, vpos)
            if quoted is not None:
                start, end, _ = quoted
            else:
                rest = _REST_OF_LINE.match(text, vpos)
                start, end = vpos, (rest.end() if rest else vpos)
                while end > start and text[end - 1] in " \t\r,}":
                    end -= 1
            _mask_span(out, start, end, strip_brackets=False)
        text = out.result()
    return text


def redact_text(text: str) -> tuple[str, int]:
    """Mask secret values in free text (logs, messages, commands, config files); see :func:`_redact_text`.

    Short strings (object fields: names, images, timestamps, messages) repeat across objects, so their results
    are cached.
    """
    if len(text) <= _CACHE_MAX_LEN:
        return _redact_short(text)
    return _redact_text(text)


_CACHE_MAX_LEN = 8192


@functools.lru_cache(maxsize=262_144)
def _redact_short(text: str) -> tuple[str, int]:
    return _redact_text(text)


def _redact_text(text: str) -> tuple[str, int]:
    """Mask secret values in free text (logs, messages, commands, config files).

    Masks private keys (whole PEM blocks), token-shaped values (JWTs, Azure DevOps PATs in both formats,
    GitHub, GitLab, Slack, AWS access key ids, Dynatrace, New Relic, npm, PyPI, Docker Hub tokens, base64
    docker configs), passwords in URLs, bearer tokens and Authorization headers, and the values of sensitive
    keys in ``key=value``, ``key: value``, ``"key": "value"``, ``--flag value`` and connection-string forms.
    Returns the new text and how many values were masked.
    """
    if not text:
        return text, 0
    count = _Count()

    def whole(kind: str, check: _ShapeCheck | None = None) -> Callable[[re.Match[str]], str]:
        def repl(m: re.Match[str]) -> str:
            if check is not None and not check(m.group()):
                return m.group()
            count.n += 1
            return mask(kind)

        return repl

    def group(name: str, check: _ShapeCheck | None = None) -> Callable[[re.Match[str]], str]:
        def repl(m: re.Match[str]) -> str:
            value = m.group(name)
            if _keeps(value) or (check is not None and not check(value)):
                return m.group()
            count.n += 1
            s, e = m.span(name)
            base = m.start()
            return m.group()[: s - base] + MASK + m.group()[e - base :]

        return repl

    if "PRIVATE KEY" in text:
        text = _PEM.sub(whole("private-key"), text)
    for sh in _SHAPES:
        if len(text) >= sh.min_len and (not sh.needles or any(n in text for n in sh.needles)):
            text = sh.pattern.sub(whole(sh.kind, sh.check), text)
    if "://" in text:
        text = _URL_USERINFO.sub(group("pw"), text)
    if "earer" in text or "EARER" in text:
        text = _BEARER.sub(group("tok", _looks_like_credential), text)
    text = _scan_env_pairs(text, count)
    text = _scan_pairs(text, count)
    return text, count.n


def redact_literals(text: str, literals: Iterable[str]) -> tuple[str, int]:
    """Mask every occurrence of the given known secret values (e.g. from :func:`sensitive_literals`)."""
    values = sorted({v for v in literals if v and len(v) >= 6 and not _keeps(v)}, key=len, reverse=True)
    if not values or not text:
        return text, 0
    pattern = re.compile("|".join(re.escape(v) for v in values))
    n = 0

    def repl(_m: re.Match[str]) -> str:
        nonlocal n
        n += 1
        return MASK

    return pattern.sub(repl, text), n


# ----------------------------------------------------------------------------------------------------------
# Env lists, args, annotations, objects, trees
# ----------------------------------------------------------------------------------------------------------


def redact_env(env: Sequence[Any]) -> tuple[list[Any], int]:
    """Mask an env list (``[{"name", "value" | "valueFrom"}]``, also ``httpHeaders``).

    The literal ``value`` of a sensitive name is masked; ``valueFrom`` references are kept as they are (names
    of Secrets and keys are evidence, never secrets); values of other names pass through :func:`redact_text`.
    """
    out: list[Any] = []
    total = 0
    for entry in env:
        if not isinstance(entry, dict) or "value" not in entry:
            out.append(copy.deepcopy(entry))
            continue
        new = copy.deepcopy(entry)
        name, value = entry.get("name"), entry.get("value")
        if isinstance(name, str) and isinstance(value, str) and name.lower() in _AUTH_HEADERS:
            new["value"], n = _redact_header_value(value)
            total += n
        elif isinstance(name, str) and is_sensitive_name(name) and value is not None:
            if not (isinstance(value, str) and _keeps(value)) and not isinstance(value, bool):
                new["value"] = MASK
                total += 1
        elif isinstance(value, str):
            new["value"], n = redact_text(value)
            total += n
        out.append(new)
    return out, total


_AUTH_HEADERS = ("authorization", "proxy-authorization")


def _redact_header_value(value: str) -> tuple[str, int]:
    out = _Out(value, _Count())
    _mask_authorization(out, 0, len(value))
    return out.result(), out.count.n


def redact_args(args: Sequence[Any]) -> tuple[list[Any], int]:
    """Mask a container's ``command``/``args``: each item as text, and the item after a sensitive flag."""
    out: list[Any] = []
    total = 0
    mask_next = False
    for item in args:
        if not isinstance(item, str):
            out.append(item)
            mask_next = False
            continue
        if mask_next and not _LOOKS_LIKE_FLAG.fullmatch(item) and not _keeps(item):
            out.append(MASK)
            total += 1
            mask_next = False
            continue
        masked, n = redact_text(item)
        out.append(masked)
        total += n
        fm = _LOOKS_LIKE_FLAG_ITEM.fullmatch(item)
        mask_next = bool(fm) and _flag_is_sensitive(item)
    return out, total


_LOOKS_LIKE_FLAG_ITEM = re.compile(r"--?[A-Za-z][\w.\-]{0,63}")


def _flag_is_sensitive(flag: str) -> bool:
    name = flag.lstrip("-")
    return is_sensitive_name(name) or (
        not flag.startswith("--") and name.startswith("D") and is_sensitive_name(name[1:])
    )


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _redact_json_string(value: str, count: _Count) -> str | None:
    """Redact a string holding a JSON document structurally; None when it is not JSON."""
    stripped = value.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        doc = json.loads(stripped)
    except ValueError:
        return None
    before = count.n
    redacted = _walk(doc, count)
    if count.n == before:
        return value
    trailing = value[len(value.rstrip()) :]
    return json.dumps(redacted, separators=(",", ":"), ensure_ascii=False) + trailing


def _redact_annotations(annotations: Mapping[str, Any], count: _Count) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in annotations.items():
        if not isinstance(value, str):
            out[key] = _walk(value, count)
            continue
        if key != LAST_APPLIED and is_sensitive_name(key) and not _keeps(value):
            out[key] = MASK
            count.n += 1
            continue
        as_json = _redact_json_string(value, count)
        if as_json is not None:
            out[key] = as_json
            continue
        masked, n = redact_text(value)
        count.n += n
        out[key] = masked
    return out


def _is_secret_object(value: Mapping[str, Any]) -> bool:
    return (
        value.get("kind") == "Secret"
        and isinstance(value.get("metadata"), dict)
        and str(value.get("apiVersion", "v1")) == "v1"
    )


def _redact_secret(obj: Mapping[str, Any], count: _Count) -> dict[str, Any]:
    """Keep only what identifies a Secret: apiVersion, kind, metadata (redacted), type, immutable."""
    out: dict[str, Any] = {}
    for key in ("apiVersion", "kind", "metadata", "type", "immutable"):
        if key in obj:
            out[key] = _walk(obj[key], count) if key == "metadata" else copy.deepcopy(obj[key])
    for key in ("data", "stringData"):
        value = obj.get(key)
        if isinstance(value, dict):
            count.n += len(value)
        elif value is not None:
            count.n += 1
    return out


def _walk(value: Any, count: _Count, key: str = "") -> Any:
    """Structural redaction of a JSON-like value."""
    if isinstance(value, str):
        masked, n = redact_text(value)
        count.n += n
        return masked
    if isinstance(value, list):
        if key in ("env", "httpHeaders") and all(isinstance(e, dict) for e in value):
            masked_env, n = redact_env(value)
            count.n += n
            return [_walk_env_entry(e, count) for e in masked_env]
        if key in ("command", "args") and all(isinstance(e, str) for e in value):
            masked_args, n = redact_args(value)
            count.n += n
            return masked_args
        return [_walk(v, count) for v in value]
    if isinstance(value, dict):
        if _is_secret_object(value):
            return _redact_secret(value, count)
        if _is_name_value(value):
            # an env entry or any other {"name", "value"} pair (probe headers, parameters, extraEnv lists)
            masked_entry, n = redact_env([value])
            count.n += n
            return _walk_env_entry(masked_entry[0], count)
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k == "annotations" and isinstance(v, dict):
                out[k] = _redact_annotations(v, count)
            elif isinstance(v, str) and isinstance(k, str) and is_sensitive_name(k) and not _keeps(v):
                out[k] = MASK
                count.n += 1
            else:
                out[k] = _walk(v, count, k if isinstance(k, str) else "")
        return out
    return copy.deepcopy(value)


_NAME_VALUE_KEYS = frozenset({"name", "value", "valueFrom"})


def _is_name_value(value: Mapping[str, Any]) -> bool:
    return isinstance(value.get("name"), str) and "value" in value and _NAME_VALUE_KEYS.issuperset(value)


def _walk_env_entry(entry: Any, count: _Count) -> Any:
    """After :func:`redact_env`: walk the rest of an env entry (``name`` and ``value`` are done)."""
    if not isinstance(entry, dict):
        return entry
    return {k: (v if k in ("name", "value") else _walk(v, count, k)) for k, v in entry.items()}


def sensitive_literals(obj: Any) -> set[str]:
    """Literal values of sensitive env names anywhere in ``obj`` (to mask where they are repeated)."""
    found: set[str] = set()
    stack: list[Any] = [obj]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if _is_name_value(value):
                name, lit = value["name"], value["value"]
                if isinstance(lit, str) and is_sensitive_name(name) and not _keeps(lit) and len(lit) >= 6:
                    found.add(lit)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


def _mask_literals(value: Any, literals: set[str], count: _Count) -> Any:
    if isinstance(value, str):
        masked, n = redact_literals(value, literals)
        count.n += n
        return masked
    if isinstance(value, list):
        return [_mask_literals(v, literals, count) for v in value]
    if isinstance(value, dict):
        return {k: _mask_literals(v, literals, count) for k, v in value.items()}
    return value


def redact_object(obj: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """A masked deep copy of a Kubernetes object (or a ``List`` of them).

    Env lists (containers, initContainers, ephemeralContainers, in pods and in every pod template, also of
    CronJobs and custom resources), probe ``httpHeaders``, ``command``/``args`` items, annotations
    (including the JSON of ``kubectl.kubernetes.io/last-applied-configuration``, redacted as an object) and
    every other string are masked; a literal secret from a sensitive env var is also masked where it is
    repeated (a Jenkins agent's ``JENKINS_SECRET`` passed as an arg). Secret objects keep only apiVersion,
    kind, metadata, type and immutable: ``data`` and ``stringData`` are dropped and count as masked values.
    """
    count = _Count()
    literals = sensitive_literals(obj)
    out = _walk(dict(obj), count)
    if literals:
        out = _mask_literals(out, literals, count)
    return out, count.n


def redact_tree(value: Any) -> tuple[Any, int]:
    """A masked deep copy of a JSON-like tree (a report dict); every string goes through :func:`redact_text`.

    Report trees can embed Kubernetes fragments (a remedy's patch body), so the structural rules of
    :func:`redact_object` (env lists, args, annotations, sensitive keys) apply as well.
    """
    count = _Count()
    literals = sensitive_literals(value)
    out = _walk(value, count)
    if literals:
        out = _mask_literals(out, literals, count)
    return out, count.n
