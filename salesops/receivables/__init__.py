"""Collections (回款): receivables ageing, overdue reminders and the cash forecast."""
