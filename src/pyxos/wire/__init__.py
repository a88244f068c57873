"""Codecs and framing for bytes between nodes: length-prefixed frames and the peer envelope.

A pure layer: bytes in, values out. It never touches a socket; the runtime feeds it what it read.
"""
