"""The crew: bot technicians that mark IOs through the tool and journal every op."""
