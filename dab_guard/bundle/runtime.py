"""Databricks Runtime keys (``spark_version``): what a key says, and what is wrong with a key that is not one.

A key names a release and a flavour, always in the same order::

    16.4.x[-rc|-snapshot|-esr][-aarch64][-photon|-cpu-ml|-gpu-ml|-hls]-scala2.12

``databricks clusters spark-versions`` lists the keys a workspace offers. Other families (``custom:...`` images,
``dlt:...``, ``client.N...`` serverless images, ``apache-spark-...``) are accepted as they are: dab-guard knows too
little about them to judge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

# Long-term-support releases (Databricks Runtime LTS lifecycle). The issue treats every 18.x as LTS because no LTS of
# that line had been announced when the rules were written: a rule must not call it "not LTS" on a guess.
LTS_RELEASES = frozenset({(7, 3), (9, 1), (10, 4), (11, 3), (12, 2), (13, 3), (14, 3), (15, 4), (16, 4), (17, 3)})
FIRST_ALL_LTS_MAJOR = 18
# Databricks Runtime 17 (Spark 4) ships Scala 2.13 only; 16.4 LTS ships both; 7.0 dropped Scala 2.11.
SCALA_213_ONLY_FROM = 17
SCALA_211_UNTIL = 7

_VERSION_RE = re.compile(r"^(\d+)(?:\.(\d+|x))?(?:\.(\d+|x))?$")
_SCALA_RE = re.compile(r"^scala(\d+\.\d+)$")
_SCALA_NUMBER_RE = re.compile(r"^\d+\.\d+$")
_CHANNELS = ("rc", "snapshot", "esr")
_FLAVOURS = ("aarch64", "photon", "cpu", "gpu", "ml", "hls")
# Words people copy from the runtime's display name ("16.4 LTS ML"); they are dropped from a suggestion.
_DISPLAY_WORDS = ("lts",)
_OTHER_FAMILIES = (
    ("custom:", "custom"),
    ("dlt:", "dlt"),
    ("client.", "client"),
    ("apache-spark-", "apache-spark"),
    ("latest-", "latest"),
)


@dataclass(frozen=True)
class RuntimeKey:
    """One ``spark_version`` value, taken apart. Build it with :meth:`parse`; it never raises.

    ``family`` is ``"dbr"`` for Databricks Runtime keys (and for values that try to be one), the name of another
    accepted family (``custom``, ``dlt``, ``client``, ``apache-spark``, ``latest``), or ``"unrecognised"``.
    """

    text: str
    family: str
    major: int | None = None
    minor: int | None = None
    ml: bool = False
    cpu: bool = False
    gpu: bool = False
    photon: bool = False
    aarch64: bool = False
    genomics: bool = False
    scala: str | None = None
    channel: str | None = None  # rc, snapshot or esr
    problems: tuple[str, ...] = ()  # why the text is not a valid key; empty for a valid one
    corrected: str | None = None  # the key that was most likely meant, when the text is not valid

    @classmethod
    def parse(cls, text: str) -> RuntimeKey:
        return _parse(text)

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def version(self) -> tuple[int, int] | None:
        if self.major is None or self.minor is None:
            return None
        return (self.major, self.minor)

    @property
    def version_text(self) -> str:
        if self.major is None:
            return self.text
        return f"{self.major}.{self.minor}" if self.minor is not None else f"{self.major}.x"

    @property
    def lts(self) -> bool | None:
        """Whether the release is long-term supported; None when the key does not say (custom images, client...)."""
        if self.family != "dbr" or self.major is None:
            return None
        if self.channel == "esr":
            return True
        if self.channel is not None:
            return False  # snapshots and release candidates are never LTS
        if self.major >= FIRST_ALL_LTS_MAJOR:
            return True
        return self.version in LTS_RELEASES

    def describe(self) -> str:
        """``16.4 LTS ML``, ``17.0``, ``15.4 LTS ML (GPU)``: how a message names the runtime."""
        text = self.version_text
        if self.lts and self.major is not None and self.major < FIRST_ALL_LTS_MAJOR:
            text += " LTS"
        if self.ml:
            text += " ML (GPU)" if self.gpu else " ML"
        return text


@lru_cache(maxsize=1024)  # a bundle names few runtimes, many times; RuntimeKey is frozen, so sharing is safe
def _parse(text: str) -> RuntimeKey:
    raw = text.strip()
    lowered = raw.lower()
    for prefix, family in _OTHER_FAMILIES:
        if lowered.startswith(prefix):
            return RuntimeKey(text, family)
    tokens = [t for t in re.split(r"[\s_\-]+", lowered) if t]
    version = _VERSION_RE.match(tokens[0]) if tokens else None
    if version is None:
        return RuntimeKey(text, "unrecognised", problems=("not a runtime key",))
    major = int(version.group(1))
    second, third = version.group(2), version.group(3)
    minor = int(second) if second is not None and second != "x" else None
    problems: list[str] = []
    if second is None:
        problems.append("a key names a release as MAJOR.MINOR.x")
    elif second == "x":
        if third is not None:
            problems.append(f"'{tokens[0]}' is not a release")
    elif third is None:
        problems.append(f"the release is written '{major}.{minor}.x', not '{tokens[0]}'")
    elif third != "x":
        problems.append(f"a key names a release line ('{major}.{minor}.x'), not a patch version")

    flags: dict[str, bool] = dict.fromkeys(_FLAVOURS, False)
    channel: str | None = None
    scala: str | None = None
    unknown: list[str] = []
    display_words: list[str] = []
    seen: list[str] = []
    rest = tokens[1:]
    i = 0
    while i < len(rest):
        token = rest[i]
        scala_match = _SCALA_RE.match(token)
        if scala_match:
            scala = scala_match.group(1)
            seen.append("scala")
        elif token == "scala" and i + 1 < len(rest) and _SCALA_NUMBER_RE.match(rest[i + 1]):
            # Snapshot keys spell it "scala-2.12".
            scala = rest[i + 1]
            seen.append("scala")
            i += 1
        elif token in _CHANNELS:
            channel = token
            seen.append(token)
        elif token in flags:
            flags[token] = True
            seen.append(token)
        elif token in _DISPLAY_WORDS:
            display_words.append(token)
        else:
            unknown.append(token)
        i += 1

    if minor is None and second == "x" and channel is None:
        problems.append(f"'{major}.x' names no release (only snapshot keys do)")
    if raw != lowered:
        problems.append("runtime keys are lower case")
    if re.search(r"\s", raw):
        problems.append("a key has no spaces")
    for word in display_words:
        problems.append(f"'{word.upper()}' belongs to the runtime's display name, not to its key")
    for token in unknown:
        problems.append(f"'{token}' is not part of any runtime key")
    ml, cpu, gpu = flags["ml"], flags["cpu"], flags["gpu"]
    if ml and not (cpu or gpu):
        problems.append("-ml- needs -cpu- or -gpu- before it")
    if cpu and gpu:
        problems.append("a key is either -cpu-ml- or -gpu-ml-, not both")
    if (cpu or gpu) and not ml and major >= SCALA_211_UNTIL:
        problems.append(f"-{'cpu' if cpu else 'gpu'}- only appears in ML keys (-{'cpu' if cpu else 'gpu'}-ml-)")
    if scala is None or seen[-1] != "scala":
        problems.append("a key ends with the Scala version (-scala2.12 or -scala2.13)")
    elif major >= SCALA_213_ONLY_FROM and scala != "2.13":
        problems.append(f"Databricks Runtime {SCALA_213_ONLY_FROM} and later ship Scala 2.13 only")
    elif major >= SCALA_211_UNTIL and scala == "2.11":
        problems.append(f"Databricks Runtime {SCALA_211_UNTIL}.0 and later ship Scala 2.12 or 2.13")

    parsed = RuntimeKey(
        text,
        "dbr",
        major,
        minor,
        ml=ml,
        cpu=cpu,
        gpu=gpu,
        photon=flags["photon"],
        aarch64=flags["aarch64"],
        genomics=flags["hls"],
        scala=scala,
        channel=channel,
    )
    canonical = _canonical(parsed, flags, unknown, dashed_scala="scala-" in lowered)
    if not problems and canonical is not None and canonical != raw:
        if "-".join(tokens) == canonical:
            problems.append("the parts of a key are joined with '-'")
        else:
            problems.append(f"the parts are out of order (keys read {_ORDER_HINT})")
    if not problems:
        return parsed
    return replace(parsed, problems=tuple(problems), corrected=canonical if canonical != raw else None)


_ORDER_HINT = "RELEASE.x[-aarch64][-photon|-cpu-ml|-gpu-ml]-scalaX.Y"


def _canonical(key: RuntimeKey, flags: dict[str, bool], unknown: list[str], dashed_scala: bool) -> str | None:
    """The key the text most likely means, or None when that cannot be told."""
    if unknown or key.major is None:
        return None
    if key.minor is None and key.channel != "snapshot":
        return None
    cpu, gpu, ml = flags["cpu"], flags["gpu"], flags["ml"]
    if cpu and gpu:
        return None
    if cpu and not ml:
        return None  # "16.4.x-cpu-scala2.12": an ML key or a standard one? Either is a guess.
    if flags["photon"] and (ml or gpu):
        return None  # no key is both Photon and ML: which of the two was meant is a guess
    if key.major < SCALA_211_UNTIL:
        return None  # pre-7 keys had shapes dab-guard does not rebuild
    scala = key.scala
    if key.major >= SCALA_213_ONLY_FROM:
        scala = "2.13"
    elif scala is None or scala == "2.11":
        scala = "2.12"
    parts = [f"{key.major}.{key.minor}.x" if key.minor is not None else f"{key.major}.x"]
    if key.channel:
        parts.append(key.channel)
    if flags["aarch64"]:
        parts.append("aarch64")
    if flags["photon"]:
        parts.append("photon")
    if ml or gpu:
        parts.append("gpu-ml" if gpu else "cpu-ml")
    if flags["hls"]:
        parts.append("hls")
    if dashed_scala and key.channel == "snapshot":
        parts.append(f"scala-{scala}")  # some snapshot keys spell it this way
    else:
        parts.append(f"scala{scala}")
    return "-".join(parts)
