"""The backends' declarations: each module here binds one ``common.backends.Backend`` to ``BACKEND``
(``common.backends.registered`` finds them). Standard library only and Python 3.7+: a runtime is
imported inside ``make``, when its runner is made."""
