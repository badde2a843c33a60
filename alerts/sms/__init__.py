"""Text messages (issue 15): a durable outbox in the state database, drained by a sender task through an SMS
gateway (Kannel's HTTP `sendsms`), with delivery reports taken back through the hub's callback."""
