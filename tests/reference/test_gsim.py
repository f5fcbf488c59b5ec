"""GSIM names as people write them: UK and US spellings find the GSIM 1.2 object; a GSIM 2.0 name is told its
1.2 counterpart."""

from __future__ import annotations

import pytest
import yaml

from catalogue import reference, resources
from catalogue.services import descriptors, validation
from tests.conftest import DATA


@pytest.mark.parametrize(
    ("written", "official"),
    [
        ("Organisation", "Organization"),
        ("Organization", "Organization"),
        ("organisation", "Organization"),
        ("Statistical Programme", "Statistical Program"),
        ("statistical-programme-cycle", "Statistical Program Cycle"),
        ("Statistical Programme Design", "Statistical Program Design"),
        ("Statistical Support Programme", "Statistical Support Program"),
        ("DataSet", "Data Set"),
        ("UnitDataSet", "Unit Data Set"),
        ("unit_data_set", "Unit Data Set"),
    ],
)
def test_uk_and_us_spellings_find_the_gsim_1_2_object(written: str, official: str) -> None:
    assert reference.gsim().lookup(written) == official


@pytest.mark.parametrize(
    ("gsim_2", "counterparts"),
    [
        ("Exchange Instrument", ("Exchange Channel",)),
        ("Statistical Support Activity", ("Statistical Support Program",)),
        ("Core Input", ("Transformable Input",)),
        ("Core Output", ("Transformed Output",)),
        ("Data Record", ("Unit Data Record",)),
        ("Conceptual Variable", ("Variable",)),
        ("Register", ("Administrative Register", "Statistical Register")),
    ],
)
def test_a_gsim_2_0_name_is_told_its_1_2_counterpart(gsim_2: str, counterparts: tuple[str, ...]) -> None:
    gsim = reference.gsim()
    assert gsim.lookup(gsim_2) is None
    assert gsim.counterparts(gsim_2) == counterparts
    assert gsim.suggest(gsim_2) == counterparts[0]
    assert "GSIM 2.0 name" in gsim.hint(gsim_2) and all(repr(c) in gsim.hint(gsim_2) for c in counterparts)


def test_validation_suggests_the_counterpart_not_a_look_alike() -> None:
    text = (
        (DATA / "good.yaml")
        .read_text("utf-8")
        .replace("{gsim: Unit Data Set, desc", "{gsim: Exchange Instrument, desc")
    )
    descriptor = descriptors.parse(text.encode("utf-8"), "yaml", descriptors.Limits())
    [problem] = [p for p in validation.validate(descriptor).errors if p.pointer.endswith("/gsim")]
    assert "did you mean 'Exchange Channel'?" in problem.message and "Change Event" not in problem.message


def test_annex_1_messages_name_gsim_objects_as_the_definition_does() -> None:
    """A message's GSIM object is checked as an input's is: a GSIM 2.0 name is told its 1.2 counterpart, a UK or
    US spelling is found, and a format of blanks is no format."""
    content = descriptors.parse((DATA / "good.yaml").read_bytes(), "yaml").content
    content["specification"]["input_messages"] = [
        {"name": "records", "gsim": "Exchange Instrument", "format": "text/csv"},
        {"name": "owner", "gsim": "Organisation", "format": "  "},
    ]
    content["specification"]["output_messages"] = [{"name": "links", "gsim": "organization", "format": "text/csv"}]
    report = validation.validate(descriptors.Descriptor(content))
    assert [(p.pointer, p.message) for p in report.errors] == [
        (
            "/specification/input_messages/0/gsim",
            "'Exchange Instrument' is not a GSIM 1.2 object; did you mean 'Exchange Channel'?",
        ),
        (
            "/specification/input_messages/1/format",
            "give the message's format, such as application/json or SDMX-ML 2.1",
        ),
    ]


def test_every_counterpart_is_a_gsim_1_2_object_and_no_two_names_fold_together() -> None:
    data = yaml.safe_load((resources.REFERENCE_DIR / "gsim.yaml").read_text("utf-8"))
    gsim = reference.gsim()
    assert len(gsim.by_key) == len(gsim.objects)  # the spelling folds merge no two GSIM 1.2 names
    for new, old in data["renamed_in_2_0"].items():
        assert gsim.lookup(new) is None, new  # a 2.0 name that were also a 1.2 name would need no hint
        assert all(name in gsim.objects for name in old), new


def test_an_unknown_name_still_gets_the_closest_name() -> None:
    assert reference.gsim().suggest("Datasett") == "Data Set"
    assert reference.gsim().hint("Zzzzqqq") == ""
