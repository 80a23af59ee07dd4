from django import template

register = template.Library()


@register.filter
def lookup(row: dict, key: str):
    """A view row's value for a column key."""
    return row.get(key)
