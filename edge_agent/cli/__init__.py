"""``acorn-edge``: run a store's edge agent, look at its outbox, recover, find and test devices.

    main  devices
"""
