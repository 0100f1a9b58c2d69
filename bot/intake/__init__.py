"""The intake pipeline: small named stages applied to one message inside one transaction."""
