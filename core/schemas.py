"""Marshmallow fields every domain's schemas share."""

from marshmallow import fields


class StrictBoolean(fields.Boolean):
    """Only JSON true or false; "yes", 1 and "true" are refused."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value
