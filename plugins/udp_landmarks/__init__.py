"""Example frame-source plugin: hand landmarks streamed over UDP by another process or machine (a phone app, a
tracker on another computer, a replay script), one JSON datagram per frame.

Registered in ``pyproject.toml`` exactly as a third party would::

    [project.entry-points."lad.frame_sources"]
    udp = "plugins.udp_landmarks:UdpLandmarkSource"

so ``lad track udp:127.0.0.1:5600`` (or any ``open_source("udp:HOST:PORT")``) listens there. The packet format and
the sender are in :mod:`plugins.udp_landmarks.source`.
"""

from plugins.udp_landmarks.source import UdpLandmarkSender, UdpLandmarkSource, decode_packet, encode_packet

__all__ = ["UdpLandmarkSender", "UdpLandmarkSource", "decode_packet", "encode_packet"]
