import logging

from keynet_sdk import MemoryTransport, Trainer, install_log_handler


def test_python_logging_records_become_log_events(env, capsys):
    memory = MemoryTransport()
    client = Trainer(environ=env, transport=memory, register_atexit=False)
    logger = logging.getLogger("keynet-test")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = install_log_handler(logger, logging.DEBUG, client)
    try:
        logger.debug("d")
        logger.info("i %s", 1)
        logger.critical("c")
    finally:
        logger.removeHandler(handler)
    assert [(e["level"], e["message"], e["metadata"]) for e in memory.events] == [
        ("DEBUG", "d", {"logger": "keynet-test"}),
        ("INFO", "i 1", {"logger": "keynet-test"}),
        ("ERROR", "c", {"logger": "keynet-test"}),
    ]
    assert "[keynet]" not in capsys.readouterr().err
