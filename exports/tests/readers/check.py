"""Reads Shotweave exports with their reference readers and prints what they saw as JSON.

Usage: check.py otio|edl|fountain|fcp7|fcpxml|otio_markers|edl_locators|fcp7_markers|fcpxml_markers|fcpxml_tree FILE
The Rust test compares the output with the project it exported; this script only reports.
"""
import io
import json
import sys


def otio(path):
    import opentimelineio as otio_lib

    timeline = otio_lib.adapters.read_from_file(path)
    track = timeline.tracks[0]
    items = []
    for item in track:
        items.append({
            "kind": "clip" if isinstance(item, otio_lib.schema.Clip) else "gap",
            "frames": item.duration().value,
            "rate": item.duration().rate,
            "shot_id": item.metadata.get("shotweave", {}).get("shot_id"),
            "target_url": item.media_reference.target_url if isinstance(item, otio_lib.schema.Clip) else None,
        })
    return {"name": timeline.name, "items": items,
            "total_seconds": timeline.duration().to_seconds()}


def editorial_xml(path, adapter):
    """FCP7 XML (xmeml) or FCPXML through OpenTimelineIO's adapters for them."""
    import opentimelineio as otio_lib

    result = otio_lib.adapters.read_from_file(path, adapter_name=adapter)
    # FCPXML holds a library of projects: ours has one.
    if isinstance(result, otio_lib.schema.SerializableCollection):
        result = next(iter(result))
    track = result.video_tracks()[0]
    items = []
    for item in track:
        is_clip = isinstance(item, otio_lib.schema.Clip)
        reference = item.media_reference if is_clip else None
        comments = item.metadata.get("fcp_xml", {}).get("comments", {})
        items.append({
            "kind": "clip" if is_clip else "gap",
            "name": item.name,
            "frames": item.duration().value,
            "rate": item.duration().rate,
            "target_url": getattr(reference, "target_url", None),
            "comment": comments.get("mastercomment1"),
            "shot_id": comments.get("mastercomment2"),
        })
    return {"name": result.name, "items": items}


def fcp7(path):
    return editorial_xml(path, "fcp_xml")


def fcpxml(path):
    return editorial_xml(path, "fcpx_xml")


def edl(path):
    import pycmx

    with open(path) as f:
        edit_list = pycmx.parse_cmx3600(f)
    events = []
    for event in edit_list.events:
        for edit in event.edits:
            events.append({"reel": edit.source, "clip_name": edit.clip_name,
                           "record_in": edit.record_in, "record_out": edit.record_out,
                           "source_in": edit.source_in, "source_out": edit.source_out})
    return {"title": edit_list.title, "events": events}


def fountain(path):
    from screenplain.parsers import fountain as parser

    with open(path, encoding="utf-8") as f:
        screenplay = parser.parse(io.StringIO(f.read()))
    kinds = {}
    for p in screenplay.paragraphs:
        kinds[type(p).__name__] = kinds.get(type(p).__name__, 0) + 1
    slugs = [str(p.line) for p in screenplay.paragraphs if type(p).__name__ == "Slug"]
    speakers = [str(p.character) for p in screenplay.paragraphs if type(p).__name__ == "Dialog"]
    return {"title": screenplay.title_page.get("Title", [""])[0], "kinds": kinds,
            "slugs": slugs, "speakers": speakers}


def marker_list(markers):
    return [{
        "name": m.name,
        "start": m.marked_range.start_time.value,
        "duration": m.marked_range.duration.value,
        "rate": m.marked_range.start_time.rate,
        "color": str(m.color),
        "comment": getattr(m, "comment", None),
        "thread_id": m.metadata.get("shotweave", {}).get("thread_id"),
        "author": m.metadata.get("shotweave", {}).get("author"),
        "status": m.metadata.get("shotweave", {}).get("status"),
        "fcp_comment": m.metadata.get("fcp_xml", {}).get("comment"),
    } for m in markers]


def timeline_markers(timeline):
    """Markers on the stack (the timeline as a whole) and on each item of the first video
    track, with the frame each item starts at on the track."""
    track = timeline.video_tracks()[0]
    items = []
    for item in track:
        items.append({
            "kind": "clip" if item.__class__.__name__ == "Clip" else "gap",
            "name": item.name,
            "start": track.range_of_child(item).start_time.value,
            "frames": item.duration().value,
            "shot_id": item.metadata.get("shotweave", {}).get("shot_id"),
            "markers": marker_list(item.markers),
        })
    return {"stack": marker_list(timeline.tracks.markers), "items": items}


def otio_markers(path):
    import opentimelineio as otio_lib

    return timeline_markers(otio_lib.adapters.read_from_file(path))


def fcp7_markers(path):
    import opentimelineio as otio_lib

    return timeline_markers(otio_lib.adapters.read_from_file(path, adapter_name="fcp_xml"))


def fcpxml_markers(path):
    import opentimelineio as otio_lib

    result = otio_lib.adapters.read_from_file(path, adapter_name="fcpx_xml")
    if isinstance(result, otio_lib.schema.SerializableCollection):
        result = next(iter(result))
    return timeline_markers(result)


def fcpxml_tree(path):
    """The spine as a plain XML parse sees it: OpenTimelineIO's FCPXML reader rebuilds gaps
    from clip offsets, so markers inside a <gap> are checked here instead."""
    import xml.etree.ElementTree as ET

    spine = ET.parse(path).getroot().find("./library/event/project/sequence/spine")
    return {"items": [{"tag": e.tag, "name": e.get("name"), "offset": e.get("offset"),
                       "markers": [dict(m.attrib) for m in e.findall("./marker")]}
                      for e in spine]}


def edl_locators(path):
    """Locators as pycmx reads them: pycmx 1.5 has no locator type, and keeps every `*`
    comment line of an event as a remark statement of that event (`StmtRemark`), so the
    `LOC:` remarks are taken from each event's statements and split into their columns."""
    import re
    import pycmx
    from pycmx.statements import StmtRemark

    with open(path, encoding="utf-8") as f:
        edit_list = pycmx.parse_cmx3600(f)
    events = []
    for event in edit_list.events:
        locators = []
        for s in event.statements:
            if isinstance(s, StmtRemark) and s.text.startswith("LOC:"):
                m = re.match(r"LOC:\s+(\d\d:\d\d:\d\d:\d\d)\s+(\w+)\s+(.*)$", s.text)
                locators.append({"timecode": m.group(1), "color": m.group(2), "text": m.group(3)}
                                if m else {"unparsed": s.text})
        edit = event.edits[0]
        events.append({"number": event.number, "record_in": edit.record_in,
                       "reel": edit.source, "locators": locators})
    return {"events": events}


if __name__ == "__main__":
    kind, path = sys.argv[1], sys.argv[2]
    readers = {"otio": otio, "edl": edl, "fountain": fountain, "fcp7": fcp7, "fcpxml": fcpxml,
               "otio_markers": otio_markers, "edl_locators": edl_locators,
               "fcp7_markers": fcp7_markers, "fcpxml_markers": fcpxml_markers,
               "fcpxml_tree": fcpxml_tree}
    print(json.dumps(readers[kind](path)))
