"""The Atom feed of approved services: valid Atom, newest approval first, everything escaped."""

from __future__ import annotations

import uuid
from xml.etree import ElementTree as ET

from catalogue.exports import atom

A = "{http://www.w3.org/2005/Atom}"


def _feed(client) -> ET.Element:
    response = client.get("/feeds/approved.atom")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.data)
    assert root.tag == f"{A}feed"
    return root


def test_newest_approval_first_and_text_escaped(client, workflow, good_text):
    tricky = good_text.replace(
        "Links records of two data sets that describe the same units.",
        '"Links <b>records</b> & </summary><entry>x</entry> \\x01 data."',
    )
    workflow.submit(tricky)
    workflow.submit(good_text.replace("id: demo-linkage", "id: second-linkage"))
    workflow.approve("second-linkage", "1.0.0")
    workflow.approve("demo-linkage", "1.0.0")
    root = _feed(client)
    entries = root.findall(f"{A}entry")
    links = [e.find(f"{A}link").get("href") for e in entries]
    assert links == ["http://localhost/services/demo-linkage", "http://localhost/services/second-linkage"]
    assert entries[0].find(f"{A}summary").text == "Links <b>records</b> & </summary><entry>x</entry>  data."
    assert entries[0].find(f"{A}author/{A}name").text == "Italian National Institute of Statistics"
    assert root.find(f"{A}updated").text == entries[0].find(f"{A}updated").text
    # A new version approved later moves its service to the top.
    workflow.submit(
        good_text.replace("id: demo-linkage", "id: second-linkage").replace("version: 1.0.0", "version: 1.1.0")
    )
    workflow.approve("second-linkage", "1.1.0")
    entries = _feed(client).findall(f"{A}entry")
    # A name-based UUID of the version's path: the same whatever host or year the feed is read at.
    entry_id = uuid.uuid5(atom.ID_NAMESPACE, "services/second-linkage/versions/1.1.0").urn
    assert entries[0].find(f"{A}id").text == entry_id
    other_host = ET.fromstring(client.get("/feeds/approved.atom", base_url="https://stats.example.org").data)
    assert other_host.find(f"{A}entry/{A}id").text == entry_id
    assert other_host.find(f"{A}id").text == _feed(client).find(f"{A}id").text


def test_unapproved_services_are_not_in_the_feed(client, workflow, good_text):
    workflow.submit(good_text)
    workflow.decide("demo-linkage", "1.0.0", "changes_requested", "add contacts")
    assert _feed(client).findall(f"{A}entry") == []
