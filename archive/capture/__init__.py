"""How a fetch enters the archive: the exchange types, judging (edits and takedowns),
persisting, group commit, and the diffs stored when a version is recorded."""

from archive.capture.detect import (
    Policy,
)
from archive.capture.exchange import (
    CaptureJob,
    CaptureResult,
    Exchange,
    ImageFetch,
    RecordOptions,
    RedirectHop,
    extract_exchange,
)
from archive.capture.group import record_captures
from archive.capture.images import images_due
from archive.capture.known_payloads import current_images, current_payloads
from archive.capture.record import record_capture
from archive.capture.render_record import (
    PageToRender,
    captures_to_render,
    log_size,
    page_to_render,
    record_rendering,
    screenshot_png,
    version_rendering,
    version_screenshot,
)
from archive.capture.rendered_text import extract_rendered
from archive.capture.rendering import (
    Refusal,
    RefusalKind,
    Rendering,
    RenderOutcome,
    SubResource,
)
from archive.capture.stored_diffs import (
    pair_diff,
    pair_judgement,
)

__all__ = [
    "CaptureJob",
    "CaptureResult",
    "Exchange",
    "ImageFetch",
    "PageToRender",
    "Policy",
    "RecordOptions",
    "RedirectHop",
    "Refusal",
    "RefusalKind",
    "RenderOutcome",
    "Rendering",
    "SubResource",
    "captures_to_render",
    "current_images",
    "current_payloads",
    "extract_exchange",
    "extract_rendered",
    "images_due",
    "log_size",
    "pair_diff",
    "pair_judgement",
    "record_capture",
    "page_to_render",
    "record_captures",
    "record_rendering",
    "screenshot_png",
    "version_rendering",
    "version_screenshot",
]
