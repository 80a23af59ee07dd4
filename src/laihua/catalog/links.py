"""Public URLs of catalog items and hospitals, reversed once and filled in per row.

A search returns up to 200 items; reversing two URLs for each costs more than the rest of a row.
`ItemLinks` reverses each pattern once (in the active language's prefix) and fills in the slug and
code quoted as Django's reverse() quotes them, so the result is the same string.
"""

from urllib.parse import quote

from django.urls import reverse

# The characters Django's reverse() leaves unquoted in a path (django.urls.resolvers).
_PATH_SAFE = "!$&'()*+,;=/~:@"
_HOSPITAL, _CODE = "laihua-hospital-slug", "laihua-item-code"


class ItemLinks:
    def __init__(self):
        self.item = reverse("web:item", args=[_HOSPITAL, _CODE])
        self.hospital = reverse("web:hospital", args=[_HOSPITAL])

    def of_item(self, slug: str, code: str) -> str:
        return self.item.replace(_HOSPITAL, quote(slug, safe=_PATH_SAFE)).replace(_CODE, quote(code, safe=_PATH_SAFE))

    def of_hospital(self, slug: str) -> str:
        return self.hospital.replace(_HOSPITAL, quote(slug, safe=_PATH_SAFE))
