"""Administer Mosquitto's dynamic-security plugin over MQTT (``$CONTROL/dynamic-security/v1``).

Creating, disabling and deleting broker users takes effect at once, without a broker restart.
``DynSecError`` is raised when the broker refuses a command or does not answer in time; a command
that fails because the thing already exists is reported in the error text, so callers that want
idempotence use ``ensure_*``.

Rules:
- every client we provision is bound to one MQTT client id (``clientid``, see ``hub.fleet.acl``);
  provisioning again binds an existing client too, so an upgrade that re-runs it brings old
  clients in line; ``bind_client_ids`` does the same for every node without new passwords;
- checked on Mosquitto 2.0.11: ``createClient``/``modifyClient`` take ``clientid`` (an empty one
  unbinds), ``getClient``/``listClients`` show it, a login with another client id gets CONNACK
  "not authorised" and the session open under that id is left alone; every ``modifyClient``
  disconnects the client's open connection (it logs in again at once if its password still holds),
  so ``bind_client_id`` modifies only a client whose binding is wrong;
- the admin identity itself stays unbound: its connections are short-lived with random client
  ids, and whoever holds its password can already rewrite every client, so a binding would add
  nothing. Keep its password on the hub host only;
- several independent brokers (``settings.brokers``, docs/operations/broker-ha.md): callers use
  ``BrokerAdmins``, which applies each change to every broker that answers and names the ones
  that did not; the hub's reconcile pass (``hub.fleet.reconcile``) gives a broker that comes back
  what the hub's database records (certificate nodes, revocations, roles). The hub keeps no node
  password, so a change that sets one (``devices add``, ``add-hub``) or that the database does
  not record (``devices disable``) needs every broker (``require_all``).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hub.errors import BrokerError
from hub.fleet.acl import (
    HUB_CLIENT_ID,
    HUB_ROLE,
    HUB_USERNAME,
    Acl,
    hub_acls,
    node_acls,
    node_client_id,
    node_role,
    node_username,
    parse_node_username,
)
from hub.settings import Settings
from protocol import BrokerAddress

log = logging.getLogger(__name__)

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = "$CONTROL/dynamic-security/v1/response"


class DynSecError(BrokerError):
    """The broker refused a dynamic-security command, or did not answer."""

    def __init__(self, message: str) -> None:
        super().__init__(f"broker administration failed: {message}")


class DynSecAdmin:
    """A short-lived admin connection; use as a context manager."""

    def __init__(
        self, host: str, port: int, username: str, password: str, timeout: float = 10.0
    ) -> None:
        self._timeout = timeout
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"acorn-dynsec-{uuid.uuid4().hex[:8]}"
        )
        self._client.username_pw_set(username, password)
        self._lock = threading.Lock()
        self._answer: list[dict[str, Any]] | None = None
        self._answered = threading.Event()
        self._subscribed = threading.Event()
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *_args: self._subscribed.set()
        self._host, self._port = host, port

    def __enter__(self) -> DynSecAdmin:
        connected = threading.Event()
        failed: list[str] = []

        def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            if reason.is_failure:
                failed.append(str(reason))
            connected.set()

        self._client.on_connect = on_connect
        try:
            self._client.connect(self._host, self._port, keepalive=30)
        except OSError as err:
            raise DynSecError(
                f"cannot reach the broker at {self._host}:{self._port}: {err}"
            ) from err
        self._client.loop_start()
        if not connected.wait(self._timeout) or failed:
            self.close()
            raise DynSecError(f"broker refused the admin login: {failed or 'timeout'}")
        self._client.subscribe(RESPONSE_TOPIC, qos=1)
        if not self._subscribed.wait(self._timeout):
            self.close()
            raise DynSecError("broker did not confirm the control subscription")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Disconnect, stop the network thread and release the client's sockets now."""
        self._client.disconnect()
        self._client.loop_stop()
        # paho closes its wake-up socket pair only when the client is finalised; our callbacks
        # point back at this object, and the garbage collector may finalise such a cycle's
        # sockets first ("unclosed socket"). Break the cycle so it is freed at once.
        self._client.on_connect = self._client.on_message = self._client.on_subscribe = None

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        try:
            self._answer = json.loads(message.payload)["responses"]
        except (ValueError, KeyError, TypeError):
            self._answer = [{"error": "unreadable response from the broker"}]
        self._answered.set()

    def run(
        self, commands: Sequence[dict[str, Any]], tolerate: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """Send commands in one message and return the responses; raise on any error."""
        with self._lock:
            self._answered.clear()
            self._client.publish(CONTROL_TOPIC, json.dumps({"commands": list(commands)}), qos=1)
            if not self._answered.wait(self._timeout):
                raise DynSecError("broker did not answer the dynamic-security command")
            answer = self._answer or []
        errors = [
            r for r in answer if r.get("error") and not any(t in str(r["error"]) for t in tolerate)
        ]
        if errors:
            raise DynSecError("; ".join(f"{r.get('command')}: {r['error']}" for r in errors))
        return answer

    def ensure_role(self, name: str, acls: Sequence[Acl]) -> None:
        """Create the role or replace its ACLs."""
        self.run([{"command": "createRole", "rolename": name}], tolerate=["already exists"])
        current = self.run([{"command": "getRole", "rolename": name}])[0]
        old = current.get("data", {}).get("role", {}).get("acls", [])
        removes = [
            {
                "command": "removeRoleACL",
                "rolename": name,
                "acltype": a["acltype"],
                "topic": a["topic"],
            }
            for a in old
        ]
        adds = [{"command": "addRoleACL", "rolename": name, **acl.as_json()} for acl in acls]
        self.run([*removes, *adds])

    def ensure_client(
        self, username: str, password: str, roles: Sequence[str], client_id: str
    ) -> None:
        """Create the client, or reset its password, roles and client id and enable it."""
        self.run(
            [
                {
                    "command": "createClient",
                    "username": username,
                    "password": password,
                    "clientid": client_id,
                    "roles": [{"rolename": r} for r in roles],
                }
            ],
            tolerate=["already exists"],
        )
        self.run(
            [
                {
                    "command": "modifyClient",
                    "username": username,
                    "password": password,
                    "clientid": client_id,
                    "roles": [{"rolename": r} for r in roles],
                },
                {"command": "enableClient", "username": username},
            ]
        )

    def client_id_of(self, username: str) -> str | None:
        """The client id the client is bound to, None when unbound."""
        answer = self.run([{"command": "getClient", "username": username}])[0]
        bound = answer.get("data", {}).get("client", {}).get("clientid")
        return str(bound) if bound else None

    def bind_client_id(self, username: str, client_id: str) -> bool:
        """Bind an existing client to ``client_id``; True if it changed (its connection drops)."""
        if self.client_id_of(username) == client_id:
            return False
        self.run([{"command": "modifyClient", "username": username, "clientid": client_id}])
        return True

    def bind_client_ids(
        self, hub_username: str = HUB_USERNAME, hub_client_id: str = HUB_CLIENT_ID
    ) -> list[str]:
        """Bind the hub and every node client to its own client id; the user names changed.

        Also brings the hub's role up to date (it may clear retained events), so that an upgrade
        needs only this, without new passwords.
        """
        self.ensure_role(HUB_ROLE, hub_acls())
        answer = self.run([{"command": "listClients", "verbose": False}])[0]
        usernames = [str(u) for u in answer.get("data", {}).get("clients", [])]
        changed = []
        for username in usernames:
            node = parse_node_username(username)
            wanted = (
                node_client_id(*node) if node
                else hub_client_id if username == hub_username
                else None
            )
            if wanted is not None and self.bind_client_id(username, wanted):
                changed.append(username)
        return changed

    def disable_client(self, username: str) -> None:
        """Refuse the client's future logins and disconnect it now."""
        self.run([{"command": "disableClient", "username": username}])

    def delete_client(self, username: str) -> None:
        """Remove the client for good."""
        self.run([{"command": "deleteClient", "username": username}])

    def provision_node(self, store_id: str, node_id: str, password: str) -> str:
        """Give one edge node its own credentials and ACL; return its user name."""
        role = node_role(store_id, node_id)
        self.ensure_role(role, node_acls(store_id, node_id))
        username = node_username(store_id, node_id)
        self.ensure_client(username, password, [role], node_client_id(store_id, node_id))
        return username

    def provision_cert_node(self, store_id: str, node_id: str) -> str:
        """Give a node that logs in by certificate (CN = its user name) its client and ACL.

        The client has no password, so it cannot log in on a password listener. Its client-id
        binding is kept for the record, but Mosquitto 2.0.11 does not check it for certificate
        logins: the TLS listener sets ``use_username_as_clientid`` instead (``local_broker``).
        """
        role = node_role(store_id, node_id)
        self.ensure_role(role, node_acls(store_id, node_id))
        username = node_username(store_id, node_id)
        client_id = node_client_id(store_id, node_id)
        roles = [{"rolename": role}]
        self.run([{"command": "createClient", "username": username, "clientid": client_id,
                   "roles": roles}], tolerate=["already exists"])
        self.run([{"command": "modifyClient", "username": username, "clientid": client_id,
                   "roles": roles}, {"command": "enableClient", "username": username}])
        return username

    def remove_node(self, store_id: str, node_id: str) -> None:
        """Delete the node's client and its role (either may be gone already).

        Deleting the client drops its open connection at once, certificate logins included;
        a certificate the CA signed then still logs in, as an unknown user with no rights.
        """
        self.run([{"command": "deleteClient", "username": node_username(store_id, node_id)}],
                 tolerate=["not found"])
        self.run([{"command": "deleteRole", "rolename": node_role(store_id, node_id)}],
                 tolerate=["not found"])

    def provision_hub(
        self, password: str, username: str = HUB_USERNAME, client_id: str = HUB_CLIENT_ID
    ) -> str:
        """Give the hub its credentials and ACL, bound to its client id; return its user name."""
        self.ensure_role(HUB_ROLE, hub_acls())
        self.ensure_client(username, password, [HUB_ROLE], client_id)
        return username


class BrokerAdmins:
    """One admin login per broker of the list; each change goes to every broker that answers.

    ``down`` names the brokers that did not answer (the reconcile pass catches them up); with
    none answering, or with ``require_all`` and one silent, entering raises ``DynSecError``.
    Reads (``run``, ``client_id_of``) ask the first broker that answered.
    """

    def __init__(self, brokers: Sequence[BrokerAddress], username: str, password: str,
                 require_all: bool = False, timeout: float = 10.0) -> None:
        self._brokers, self._username, self._password = list(brokers), username, password
        self._require_all, self._timeout = require_all, timeout
        self._up: list[DynSecAdmin] = []
        self.down: list[tuple[BrokerAddress, str]] = []

    def __enter__(self) -> BrokerAdmins:
        for broker in self._brokers:
            admin = DynSecAdmin(broker.host, broker.port, self._username, self._password,
                                self._timeout)
            try:
                self._up.append(admin.__enter__())
            except DynSecError as err:
                self.down.append((broker, err.message))
        silent = "; ".join(f"{broker}: {why}" for broker, why in self.down)
        if not self._up or (self._require_all and self.down):
            self.close()
            raise DynSecError(f"this change needs every broker and these did not answer: {silent}"
                              if self._up else f"no broker answered: {silent}")
        if self.down:
            log.warning("broker change applied without %s; the reconcile pass gives it the "
                        "recorded identities when it is back", silent)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every admin connection."""
        for admin in self._up:
            admin.close()
        self._up = []

    def _each(self, change: Callable[[DynSecAdmin], object]) -> list[object]:
        return [change(admin) for admin in self._up]

    def run(self, commands: Sequence[dict[str, Any]],
            tolerate: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Ask the first broker that answered (for reads)."""
        return self._up[0].run(commands, tolerate)

    def client_id_of(self, username: str) -> str | None:
        """The client id the client is bound to on the first broker, None when unbound."""
        return self._up[0].client_id_of(username)

    def provision_node(self, store_id: str, node_id: str, password: str) -> str:
        """``DynSecAdmin.provision_node`` on every broker."""
        self._each(lambda admin: admin.provision_node(store_id, node_id, password))
        return node_username(store_id, node_id)

    def provision_cert_node(self, store_id: str, node_id: str) -> str:
        """``DynSecAdmin.provision_cert_node`` on every broker."""
        self._each(lambda admin: admin.provision_cert_node(store_id, node_id))
        return node_username(store_id, node_id)

    def remove_node(self, store_id: str, node_id: str) -> None:
        """``DynSecAdmin.remove_node`` on every broker."""
        self._each(lambda admin: admin.remove_node(store_id, node_id))

    def disable_client(self, username: str) -> None:
        """``DynSecAdmin.disable_client`` on every broker."""
        self._each(lambda admin: admin.disable_client(username))

    def provision_hub(self, password: str, username: str = HUB_USERNAME,
                      client_id: str = HUB_CLIENT_ID) -> str:
        """``DynSecAdmin.provision_hub`` on every broker."""
        self._each(lambda admin: admin.provision_hub(password, username, client_id))
        return username

    def bind_client_ids(self, hub_username: str = HUB_USERNAME,
                        hub_client_id: str = HUB_CLIENT_ID) -> list[str]:
        """``DynSecAdmin.bind_client_ids`` on every broker; the user names changed on any."""
        changed: set[str] = set()
        for admin in self._up:
            changed.update(admin.bind_client_ids(hub_username, hub_client_id))
        return sorted(changed)


def broker_admins(settings: Settings, require_all: bool = False) -> BrokerAdmins:
    """Admin logins to every broker of the hub's settings (use as a context manager)."""
    return BrokerAdmins(settings.brokers, settings.broker_admin_username,
                        settings.broker_admin_password.get_secret_value(), require_all)
