"""References inside a Bundle, resolved as FHIR R4 says (bundle.html#references), not only by "Type/id".

- An absolute reference (`urn:uuid:…`, `urn:oid:…`, `http(s)://…`) is the `fullUrl` of an entry.
- A relative reference (`Patient/123`, optionally `/_history/n`) is resolved against the base of the
  referring entry's `fullUrl` when that is a RESTful URL (`https://x/fhir/Claim/1` -> `https://x/fhir/`);
  otherwise (a `urn:uuid:` fullUrl, or none) it is the entry whose resource has that type and id.
- `#id` is a resource contained in the referring one.

`BundleIndex.problems()` lists what breaks the Bundle rules this relies on: a fullUrl that is not
absolute, one used twice, and a RESTful fullUrl whose type and id disagree with its resource's."""

import re

from django.utils.translation import gettext as _

from laihua.insurance.fhir.base import issue

ABSOLUTE = re.compile(r"^(https?://|urn:uuid:|urn:oid:)", re.IGNORECASE)
# [base]/Type/id with an optional version; the type starts upper-case as every resource type does.
RESTFUL = re.compile(
    r"^(?P<base>https?://.+/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(/_history/[^/]+)?$"
)


def _restful(url: str):
    match = RESTFUL.match(url or "")
    return match if match else None


class BundleIndex:
    """The entries of a Bundle (raw JSON) by fullUrl and by type and id."""

    def __init__(self, bundle: dict):
        self.entries: list[tuple[int, str, dict]] = []
        self.by_url: dict[str, int] = {}
        self.by_type_id: dict[str, int] = {}
        self._problems: list[dict] = []
        seen: set[str] = set()
        for index, entry in enumerate(bundle.get("entry") or []):
            if not isinstance(entry, dict):
                continue
            resource = entry.get("resource") if isinstance(entry.get("resource"), dict) else {}
            url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else ""
            kind, rid = resource.get("resourceType") or "", resource.get("id") or ""
            self.entries.append((index, url, resource))
            where = f"Bundle.entry[{index}].fullUrl"
            if url:
                if not ABSOLUTE.match(url):
                    self._problems.append(
                        issue(
                            where,
                            _("fullUrl “%(url)s” is not an absolute URL: use urn:uuid:… or the resource's URL.")
                            % {"url": url[:200]},
                            "invalid",
                        )
                    )
                elif url in seen:
                    self._problems.append(
                        issue(where, _("fullUrl “%(url)s” is used by two entries.") % {"url": url[:200]}, "invalid")
                    )
                else:
                    seen.add(url)
                    self.by_url[url] = index
                restful = _restful(url) if url.lower().startswith("http") else None
                if restful and kind and (restful["type"] != kind or (rid and restful["id"] != rid)):
                    self._problems.append(
                        issue(
                            where,
                            _("fullUrl “%(url)s” does not agree with its resource (%(type)s/%(id)s).")
                            % {"url": url[:200], "type": kind, "id": rid or "?"},
                            "invalid",
                        )
                    )
            if kind and rid:
                self.by_type_id.setdefault(f"{kind}/{rid}", index)

    def problems(self) -> list[dict]:
        return list(self._problems)

    def _url_of(self, index: int) -> str:
        for i, url, _resource in self.entries:
            if i == index:
                return url
        return ""

    def resolve(self, reference: str, from_index: int | None = None) -> int | None:
        """The index of the entry the reference points at, or None (contained `#id` is not an entry)."""
        reference = (reference or "").strip()
        if not reference or reference.startswith("#"):
            return None
        if ABSOLUTE.match(reference):
            if reference in self.by_url:
                return self.by_url[reference]
            return None
        match = _restful(reference)
        if match is None:
            return None
        relative = f"{match['type']}/{match['id']}"
        base_url = self._url_of(from_index) if from_index is not None else ""
        base = _restful(base_url)
        if base is not None and base["base"]:
            found = self.by_url.get(base["base"] + relative)
            if found is not None:
                return found
        found = self.by_type_id.get(relative)
        if found is None:
            return None
        # A relative reference cannot name an entry known by a RESTful URL on another server.
        target = _restful(self._url_of(found))
        if base is not None and base["base"] and target is not None and target["base"] not in (None, base["base"]):
            return None
        return found

    def resource(self, index: int | None) -> dict | None:
        if index is None:
            return None
        for i, _url, resource in self.entries:
            if i == index:
                return resource
        return None


def reference_of(element) -> str:
    """The `reference` string of a Reference (raw JSON or an R4B model), else ""."""
    if element is None:
        return ""
    value = element.get("reference") if isinstance(element, dict) else getattr(element, "reference", None)
    return value if isinstance(value, str) else ""


def references_in(node, path: str, skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """Every (location, reference) in a raw resource, FHIRPath-like; `skip` names locations not to enter
    (contained resources are never entered: their references are their own)."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            found.append((path, node["reference"]))
        for key, value in node.items():
            here = f"{path}.{key}"
            if key in ("contained", "reference") or here in skip:
                continue
            found.extend(references_in(value, here, skip))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(references_in(value, f"{path}[{index}]", skip))
    return found


def unresolved(
    index: "BundleIndex", entry_index: int, resource: dict, prefix: str, expected: dict, skip=()
) -> list[dict]:
    """Issues for the references of the entry's resource that point at nothing in the Bundle, or at a
    resource of a type the element does not take (`expected`: location without indexes -> allowed types)."""
    problems = []
    for where, ref in references_in(resource, prefix, skip):
        if ref.startswith("#"):
            continue
        found = index.resolve(ref, entry_index)
        if found is None:
            problems.append(
                issue(
                    where,
                    _("%(element)s refers to %(ref)s, which is not in the Bundle (by fullUrl or type and id).")
                    % {"element": where, "ref": ref[:200]},
                    "not-found",
                )
            )
            continue
        allowed = expected.get(re.sub(r"\[\d+\]", "", where))
        kind = (index.resource(found) or {}).get("resourceType", "")
        if allowed and kind not in allowed:
            problems.append(
                issue(
                    where,
                    _("%(element)s must refer to a %(allowed)s, not a %(type)s.")
                    % {"element": where, "allowed": " / ".join(allowed), "type": kind or "?"},
                    "invalid",
                )
            )
    return problems
