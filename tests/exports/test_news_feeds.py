"""Feeds per service and per organisation, beside the catalogue's: public news only, linked from the pages."""

from __future__ import annotations

from xml.etree import ElementTree as ET

A = "{http://www.w3.org/2005/Atom}"


def _feed(client, path: str) -> ET.Element:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.data)
    assert root.tag == f"{A}feed"
    return root


def test_a_service_feed_tells_its_approvals_deprecations_and_nothing_unpublished(client, workflow, good_text):
    workflow.submit(good_text)
    assert client.get("/feeds/services/demo-linkage.atom").status_code == 404  # in review: nothing public yet
    workflow.approve("demo-linkage", "1.0.0")
    workflow.submit(good_text.replace("version: 1.0.0", "version: 1.1.0"))  # in review: not in the feed
    root = _feed(client, "/feeds/services/demo-linkage.atom")
    titles = [e.find(f"{A}title").text for e in root.findall(f"{A}entry")]
    assert len(titles) == 1 and titles[0].endswith("1.0.0 approved")
    entry = root.find(f"{A}entry")
    assert entry.find(f"{A}link").get("href") == "http://localhost/services/demo-linkage/versions/1.0.0"
    self_link = [link.get("href") for link in root.findall(f"{A}link") if link.get("rel") == "self"]
    assert self_link == ["http://localhost/feeds/services/demo-linkage.atom"]
    workflow.approve("demo-linkage", "1.1.0")
    titles = [e.find(f"{A}title").text for e in _feed(client, "/feeds/services/demo-linkage.atom").findall(f"{A}entry")]
    assert [t.rsplit(" ", 2)[1:] for t in titles] == [["1.1.0", "approved"], ["1.0.0", "approved"]]
    # The organisation's feed holds the same news; an unknown organisation or service is 404.
    org = _feed(client, "/feeds/organisations/ISTAT.atom")
    assert len(org.findall(f"{A}entry")) == 2
    assert "ISTAT" in org.find(f"{A}title").text or "Italian" in org.find(f"{A}title").text
    assert client.get("/feeds/organisations/NOPE.atom").status_code == 404
    assert client.get("/feeds/services/no-such-service.atom").status_code == 404
    # The service page names both feeds in its head, for feed readers and browsers.
    head = client.get("/services/demo-linkage").get_data(as_text=True).split("</head>", 1)[0]
    assert '<link rel="alternate" type="application/atom+xml"' in head
    assert 'href="/feeds/services/demo-linkage.atom"' in head
    assert 'href="/feeds/organisations/ISTAT.atom"' in head
