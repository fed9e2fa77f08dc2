"""Return reasons: one taxonomy of reasons and sub-reasons for every return line at the hub
(counter, POS text, Amazon codes), the editable text rules, the classification pass and the
analytics the desk charts.

Rules:
- pure core: ``taxonomy`` (the one list and the fixed code tables), ``rules`` (the versioned YAML
  text rules), ``classify`` (a line onto a pair), ``standout`` (the stands-out test); I/O:
  ``store`` (rules versions, the classification pass), ``analytics`` (the queries), ``runner``
  (the periodic pass in the hub process);
- every return line lands on exactly one pair; what nothing maps is ``unknown/unmapped`` and is
  listed for review (``store.unmapped``), never guessed.
"""
