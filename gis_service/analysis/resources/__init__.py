"""Emergency resources: supply depots and rescue teams with typed equipment, assembling what an incident
needs by road time (:mod:`.assembly`), evacuation to shelters (:mod:`.evacuation`) and the emergency-plan
coverage of the major hazard sources (:mod:`.plans`)."""
