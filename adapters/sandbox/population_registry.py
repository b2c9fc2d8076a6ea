"""The sandbox population and civil-status registry: SOAP 1.1, document/literal.

It stands in for the national population register, so that the hub's identity
resolution, birth certificates and family-status certificates have a real SOAP
service to call. The contract is ``specs/registries/population.wsdl``; this
module only fills in the answers from the synthetic population. Three
operations, each taking ``afm`` or ``amka``: ``GetPerson``, ``GetBirthRecord``
and ``GetFamilyStatus``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.sandbox._soap import SoapApp
from adapters.sandbox.faults import Faults
from adapters.sandbox.population import Citizen, Population
from adapters.sandbox.translit import elot743

__all__ = ["POPULATION_NAMESPACE", "PopulationRegistry"]

POPULATION_NAMESPACE = "urn:gr:sandbox:population:v1"


def _bool(value: bool) -> str:
    return "true" if value else "false"


class PopulationRegistry(SoapApp):
    registry_id = "population"
    namespace = POPULATION_NAMESPACE
    prefix = "pop"

    def __init__(
        self,
        population: Population,
        faults: Faults | None = None,
        *,
        wsdl_path: Path,
        base_url: str,
    ) -> None:
        super().__init__(population, faults, wsdl_path=wsdl_path, base_url=base_url)
        self.operations = {
            "GetPersonRequest": self._get_person,
            "GetBirthRecordRequest": self._get_birth_record,
            "GetFamilyStatusRequest": self._get_family_status,
        }

    def _names(self, parent: Any, citizen: Citizen) -> None:
        self.add(parent, "firstName", citizen.first_name)
        self.add(parent, "surname", citizen.surname)
        self.add(parent, "firstNameLatin", citizen.first_name_latin)
        self.add(parent, "surnameLatin", citizen.surname_latin)

    def _get_person(self, citizen: Citizen, body: Any) -> None:
        person = self.add(self.add(body, "GetPersonResponse"), "person")
        self.add(person, "afm", citizen.afm)
        self.add(person, "amka", citizen.amka)
        self._names(person, citizen)
        self.add(person, "fatherName", citizen.father_name)
        self.add(person, "fatherNameLatin", citizen.father_name_latin)
        self.add(person, "motherName", citizen.mother_name)
        self.add(person, "motherNameLatin", citizen.mother_name_latin)
        self.add(person, "sex", citizen.sex)
        self.add(person, "birthDate", citizen.birth_date.isoformat())
        if citizen.death_date is not None:
            self.add(person, "deathDate", citizen.death_date.isoformat())
        self.add(person, "alive", _bool(citizen.alive))

    def _get_birth_record(self, citizen: Citizen, body: Any) -> None:
        record = self.add(self.add(body, "GetBirthRecordResponse"), "birthRecord")
        self.add(record, "afm", citizen.afm)
        self.add(record, "amka", citizen.amka)
        self._names(record, citizen)
        self.add(record, "sex", citizen.sex)
        self.add(record, "birthDate", citizen.birth_date.isoformat())
        place = self.add(record, "birthPlace")
        self.add(place, "municipality", citizen.birth_place.name)
        self.add(place, "municipalityLatin", citizen.birth_place.name_latin)
        self.add(place, "regionalUnit", citizen.birth_place.regional_unit)
        self.add(place, "country", "GR")
        registration = self.add(record, "registration")
        self.add(registration, "registrationNumber", citizen.registration.number)
        self.add(registration, "actNumber", str(citizen.registration.act_number))
        self.add(registration, "volume", str(citizen.registration.volume))
        self.add(registration, "year", str(citizen.registration.year))
        self.add(registration, "registryOffice", citizen.registration.office.name)
        self._parent(record, "father", citizen.father, citizen.father_name, citizen.father_surname)
        self._parent(record, "mother", citizen.mother, citizen.mother_name, citizen.mother_surname)

    def _get_family_status(self, citizen: Citizen, body: Any) -> None:
        status = self.add(self.add(body, "GetFamilyStatusResponse"), "familyStatus")
        self.add(status, "afm", citizen.afm)
        self.add(status, "amka", citizen.amka)
        self.add(status, "maritalStatus", citizen.marital_status)
        if citizen.spouse is not None and citizen.marital_status in ("married", "widowed"):
            self._relative(status, "spouse", self.population.citizen(citizen.spouse))
        children = self.add(status, "children")
        for index in citizen.children:
            self._relative(children, "child", self.population.citizen(index))
        self._parent(status, "father", citizen.father, citizen.father_name, citizen.father_surname)
        self._parent(status, "mother", citizen.mother, citizen.mother_name, citizen.mother_surname)

    def _parent(
        self, parent: Any, role: str, index: int | None, first_name: str, surname: str
    ) -> None:
        """A parent: in full when registered, else the names on the birth act."""
        if index is not None:
            self._relative(parent, role, self.population.citizen(index))
            return
        element = self.add(parent, role)
        self.add(element, "firstName", first_name)
        self.add(element, "surname", surname)
        self.add(element, "firstNameLatin", elot743(first_name))
        self.add(element, "surnameLatin", elot743(surname))

    def _relative(self, parent: Any, role: str, relative: Citizen) -> None:
        element = self.add(parent, role)
        self.add(element, "afm", relative.afm)
        self.add(element, "amka", relative.amka)
        self._names(element, relative)
        self.add(element, "sex", relative.sex)
        self.add(element, "birthDate", relative.birth_date.isoformat())
        if relative.death_date is not None:
            self.add(element, "deathDate", relative.death_date.isoformat())
        self.add(element, "alive", _bool(relative.alive))
