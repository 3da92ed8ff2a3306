"""Runtime keys: real keys parse as valid with the right parts; the guide's mistakes get the key that was meant."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dab_guard.bundle.runtime import RuntimeKey

# Keys as workspaces list them (`databricks clusters spark-versions`), old and new.
REAL_KEYS = [
    "16.4.x-cpu-ml-scala2.12",
    "15.4.x-gpu-ml-scala2.12",
    "17.3.x-scala2.13",
    "17.3.x-cpu-ml-scala2.13",
    "16.4.x-photon-scala2.12",
    "16.4.x-scala2.13",
    "14.3.x-aarch64-scala2.12",
    "15.4.x-aarch64-photon-scala2.12",
    "18.1.x-photon-scala2.13",
    "13.3.x-snapshot-scala2.12",
    "13.x-snapshot-scala-2.12",
    "5.0.x-rc-gpu-ml-scala2.11",
    "6.4.x-esr-scala2.11",
    "7.3.x-hls-scala2.12",
]


@pytest.mark.parametrize("text", REAL_KEYS)
def test_real_keys_are_valid(text: str) -> None:
    key = RuntimeKey.parse(text)
    assert key.family == "dbr"
    assert key.valid, key.problems
    assert key.corrected is None


@pytest.mark.parametrize(
    "text",
    [
        "custom:custom-local__16.x-snapshot-scala2.12__unknown",
        "client.1.x",
        "client.1.10-scala2.12",
        "dlt:14.1-delta-pipelines",
        "apache-spark-2.4.x-scala2.11",
    ],
)
def test_other_families_are_accepted_as_they_are(text: str) -> None:
    key = RuntimeKey.parse(text)
    assert key.family != "dbr"
    assert key.valid
    assert key.major is None and key.lts is None


@pytest.mark.parametrize(
    ("text", "major", "minor", "ml", "gpu", "photon", "aarch64", "scala"),
    [
        ("16.4.x-cpu-ml-scala2.12", 16, 4, True, False, False, False, "2.12"),
        ("15.4.x-gpu-ml-scala2.12", 15, 4, True, True, False, False, "2.12"),
        ("17.3.x-scala2.13", 17, 3, False, False, False, False, "2.13"),
        ("16.4.x-photon-scala2.12", 16, 4, False, False, True, False, "2.12"),
        ("14.3.x-aarch64-scala2.12", 14, 3, False, False, False, True, "2.12"),
    ],
)
def test_parts(text: str, major: int, minor: int, ml: bool, gpu: bool, photon: bool, aarch64: bool, scala: str) -> None:
    key = RuntimeKey.parse(text)
    assert (key.major, key.minor, key.ml, key.gpu, key.photon, key.aarch64, key.scala) == (
        major,
        minor,
        ml,
        gpu,
        photon,
        aarch64,
        scala,
    )


@pytest.mark.parametrize(
    ("text", "corrected"),
    [
        ("16.4.x-ml-scala2.12", "16.4.x-cpu-ml-scala2.12"),  # the guide's own example: -cpu- is missing
        ("15.4.x-ml-scala2.12", "15.4.x-cpu-ml-scala2.12"),
        ("17.3.x-cpu-ml-scala2.12", "17.3.x-cpu-ml-scala2.13"),  # 17+ ships Scala 2.13 only
        ("17.3.x-scala2.12", "17.3.x-scala2.13"),
        ("16.4.x-ml-cpu-scala2.12", "16.4.x-cpu-ml-scala2.12"),
        ("16.4.x-cpu-ml", "16.4.x-cpu-ml-scala2.12"),
        ("16.4-cpu-ml-scala2.12", "16.4.x-cpu-ml-scala2.12"),
        ("16.4.1-scala2.12", "16.4.x-scala2.12"),
        ("16.4 LTS ML", "16.4.x-cpu-ml-scala2.12"),
        ("16.4.x-lts-scala2.12", "16.4.x-scala2.12"),
        ("16.4.X-CPU-ML-scala2.12", "16.4.x-cpu-ml-scala2.12"),
        ("16.4.x_cpu_ml_scala2.12", "16.4.x-cpu-ml-scala2.12"),
        ("7.3.x-scala2.11", "7.3.x-scala2.12"),
    ],
)
def test_mistakes_are_corrected(text: str, corrected: str) -> None:
    key = RuntimeKey.parse(text)
    assert not key.valid
    assert key.corrected == corrected


def test_ml_intent_survives_a_wrong_key() -> None:
    # DG101 must still see an ML runtime in the key DG102 rejects.
    key = RuntimeKey.parse("16.4.x-ml-scala2.12")
    assert key.ml and key.version == (16, 4)


@pytest.mark.parametrize("text", ["16.4.x-cpu-scala2.12", "16.4.x-cpu-gpu-ml-scala2.12", "16.4.x-turbo-scala2.12"])
def test_ambiguous_mistakes_get_no_single_correction(text: str) -> None:
    key = RuntimeKey.parse(text)
    assert not key.valid
    assert key.corrected is None


@pytest.mark.parametrize("text", ["latest", "", "LTS", "sixteen.four", "x.4.x-scala2.12"])
def test_text_that_is_no_key(text: str) -> None:
    key = RuntimeKey.parse(text)
    assert key.family == "unrecognised"
    assert not key.valid


@pytest.mark.parametrize(
    ("text", "lts"),
    [
        ("14.3.x-scala2.12", True),
        ("15.4.x-cpu-ml-scala2.12", True),
        ("16.4.x-scala2.13", True),
        ("17.3.x-scala2.13", True),
        ("18.0.x-scala2.13", True),  # every 18.x counts as LTS until one is announced
        ("16.3.x-scala2.12", False),
        ("17.0.x-cpu-ml-scala2.13", False),
        ("15.3.x-cpu-ml-scala2.12", False),
        ("13.3.x-snapshot-scala2.12", False),
        ("6.4.x-esr-scala2.11", True),
    ],
)
def test_lts(text: str, lts: bool) -> None:
    assert RuntimeKey.parse(text).lts is lts


def test_describe_names_the_runtime_like_databricks() -> None:
    assert RuntimeKey.parse("16.4.x-cpu-ml-scala2.12").describe() == "16.4 LTS ML"
    assert RuntimeKey.parse("15.4.x-gpu-ml-scala2.12").describe() == "15.4 LTS ML (GPU)"
    assert RuntimeKey.parse("17.0.x-scala2.13").describe() == "17.0"


KEY_LIKE = st.from_regex(
    r"\d{1,2}(\.(\d{1,2}|x)(\.(x|\d))?)?([-_ ](cpu|gpu|ml|photon|aarch64|lts|rc|snapshot|esr|hls|scala2\.1[123]|scala|2\.12))*",
    fullmatch=True,
)


@given(st.one_of(st.text(max_size=40), KEY_LIKE))
def test_parse_never_raises_and_corrections_are_valid_keys(text: str) -> None:
    key = RuntimeKey.parse(text)
    if key.corrected is not None:
        assert RuntimeKey.parse(key.corrected).valid


@given(
    st.sampled_from([(14, 3), (15, 4), (16, 4), (17, 3), (18, 1)]),
    st.sampled_from(["", "-photon", "-cpu-ml", "-gpu-ml", "-aarch64", "-aarch64-photon"]),
)
def test_built_keys_round_trip(version: tuple[int, int], flavour: str) -> None:
    scala = "2.13" if version[0] >= 17 else "2.12"
    text = f"{version[0]}.{version[1]}.x{flavour}-scala{scala}"
    key = RuntimeKey.parse(text)
    assert key.valid, key.problems
    assert key.ml == ("ml" in flavour)


def test_the_scala_version_ends_a_key_and_no_photon_ml_key_is_suggested() -> None:
    moved = RuntimeKey.parse("16.4.x-scala2.12-photon")
    assert not moved.valid and moved.corrected == "16.4.x-photon-scala2.12"
    # Photon and ML never share a key: there is no single right answer to suggest.
    assert RuntimeKey.parse("16.4.x-cpu-ml-scala2.12-photon").corrected is None
    assert not RuntimeKey.parse("16.4.x-cpu-ml-scala2.12-photon").valid
    assert RuntimeKey.parse("16.4.x-ml-photon-scala2.12").corrected is None
