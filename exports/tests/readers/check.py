"""Reads Shotweave exports with their reference readers and prints what they saw as JSON.

Usage: check.py otio|edl|fountain|fcp7|fcpxml FILE
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


if __name__ == "__main__":
    kind, path = sys.argv[1], sys.argv[2]
    readers = {"otio": otio, "edl": edl, "fountain": fountain, "fcp7": fcp7, "fcpxml": fcpxml}
    print(json.dumps(readers[kind](path)))
