"""`appliance reset`: a plan read from the live cluster, shown first, carried out step by step."""
