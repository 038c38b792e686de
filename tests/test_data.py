"""Is every data file described, valid against its descriptor, sourced or
honestly simulated, and loadable by name without a network?"""

from __future__ import annotations

import pandas as pd
import pytest
from frictionless import validate

from platformlab import data, simulate
from platformlab.data import folder as data_folder

RESOURCES = [entry["name"] for entry in data.package()["resources"]]
REAL = [entry["name"] for entry in data.package()["resources"] if "simulated" not in entry]
SIMULATED = [entry["name"] for entry in data.package()["resources"] if "simulated" in entry]


def test_package_validates():
    """Does every file satisfy the Frictionless descriptor (types, constraints, keys)?"""
    report = validate(data_folder() / "datapackage.json")
    assert report.valid, report.flatten(["taskName", "rowNumber", "fieldName", "message"])[:20]


def test_every_data_file_is_described():
    """Is every CSV in data/ a resource of the descriptor, and every resource a file?"""
    described = {entry["path"] for entry in data.package()["resources"]}
    on_disk = {path.name for path in data_folder().glob("*.csv")}
    assert on_disk == described


@pytest.mark.parametrize("name", REAL)
def test_real_rows_name_a_full_source(name):
    """Does each row of a real data set cite a source with title, publisher, date and URL?"""
    entry = data.resource(name)
    sources = {source["id"]: source for source in entry["sources"]}
    for source in sources.values():
        for key in ("title", "publisher", "date", "path"):
            assert str(source.get(key) or "").strip(), f"{name}: source {source['id']} lacks {key}"
        assert source["path"].startswith(("http://", "https://")), f"{name}: source {source['id']} has no URL"
    cited = set(data.load(name)["source"])
    assert cited <= set(sources), f"{name}: rows cite unknown sources {cited - set(sources)}"
    assert set(sources) <= cited, f"{name}: sources no row cites {set(sources) - cited}"


@pytest.mark.parametrize("name", SIMULATED)
def test_simulated_data_says_so_and_regenerates_byte_for_byte(name):
    """Is simulated data labelled as such, and does its generator rebuild the same bytes?"""
    entry = data.resource(name)
    assert entry["title"].startswith("SIMULATED"), f"{name}: title must start with SIMULATED"
    assert "simulated" in entry["description"].lower()
    assert entry["simulated"]["generator"] == f"platformlab.simulate.{name}"
    assert simulate.render(name) == (data_folder() / entry["path"]).read_bytes(), (
        f"run `platformlab simulate {name}`: data/{entry['path']} differs from its generator"
    )


def test_every_generator_has_a_described_data_set():
    """Is every generator in platformlab.simulate the source of a described, simulated resource?"""
    assert simulate.names() == sorted(SIMULATED)


@pytest.mark.parametrize("name", RESOURCES)
def test_load_returns_the_described_columns(name):
    """Does data.load give a DataFrame with the descriptor's columns, dates parsed?"""
    frame = data.load(name)
    fields = data.resource(name)["schema"]["fields"]
    assert list(frame.columns) == [field["name"] for field in fields]
    assert len(frame) > 0
    for field in fields:
        if field["type"] == "date":
            assert pd.api.types.is_datetime64_any_dtype(frame[field["name"]])


def test_unknown_data_set_names_the_known_ones():
    """Does a mistyped name get a message listing the data sets, instead of a download attempt?"""
    with pytest.raises(KeyError, match="known data sets"):
        data.load("singles_day")
