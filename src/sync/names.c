/*
 * names.c -- the name lists the "name" strategy picks from.
 *
 * Invented-looking but plausible names from many languages; 130 first names
 * and 111 last names give 14430 full names.
 */
#include "sync.h"

const char *const cf_first_names[] = {
	"Aaliyah", "Abel", "Ada", "Adrian", "Agnes", "Aiko", "Alba", "Alejandro", "Alice", "Amara",
	"Amir", "Ana", "Anders", "Andrea", "Anika", "Anton", "Ari", "Arjun", "Astrid", "Aurora",
	"Beatriz", "Benedikt", "Bianca", "Boris", "Bruno", "Camille", "Carmen", "Caspar", "Celine",
	"Chen", "Chiara", "Clara", "Colin", "Dalia", "Damian", "Dana", "Daria", "David", "Diego",
	"Dora", "Edgar", "Elena", "Elif", "Elise", "Emil", "Emma", "Enzo", "Esther", "Ezra", "Fatima",
	"Felix", "Fiona", "Flora", "Freya", "Gabriel", "Greta", "Hana", "Hannah", "Hugo", "Ida",
	"Ilse", "Imani", "Ines", "Ingrid", "Isaac", "Ivan", "Jade", "Jonas", "Josefin", "Julia",
	"Kai", "Kamal", "Karin", "Kenji", "Kira", "Lars", "Laura", "Leila", "Leo", "Lina", "Liam",
	"Lotte", "Luca", "Lucia", "Mads", "Maia", "Malik", "Marek", "Marta", "Mateo", "Maya", "Mila",
	"Mira", "Nadia", "Nico", "Nina", "Noah", "Nora", "Oleg", "Olga", "Omar", "Oscar", "Paula",
	"Pavel", "Petra", "Priya", "Quentin", "Rafael", "Rania", "Rosa", "Ruben", "Sami", "Sara",
	"Selma", "Soren", "Sofia", "Tariq", "Teresa", "Theo", "Tomas", "Uma", "Valentin", "Vera",
	"Viktor", "Wanda", "Xenia", "Yara", "Yusuf", "Zara", "Zoltan",
};
const size_t cf_n_first_names = sizeof(cf_first_names) / sizeof(cf_first_names[0]);

const char *const cf_last_names[] = {
	"Abbott", "Acosta", "Adler", "Alvarez", "Andersen", "Arnaud", "Baker", "Bauer", "Becker",
	"Bennett", "Berg", "Bianchi", "Blanco", "Brandt", "Brooks", "Caldwell", "Campos", "Carter",
	"Castillo", "Chen", "Clarke", "Costa", "Cruz", "Dahl", "Dalton", "Delgado", "Diaz", "Dubois",
	"Duarte", "Ebert", "Eklund", "Ellis", "Engel", "Ferrari", "Fischer", "Fleming", "Fontaine",
	"Garcia", "Gallo", "Garner", "Greco", "Gruber", "Haas", "Hale", "Hansen", "Hartmann", "Hayes",
	"Herrera", "Hoffmann", "Holm", "Ibarra", "Ito", "Jansen", "Jensen", "Keller", "Kim", "Klein",
	"Koch", "Kowalski", "Kramer", "Lambert", "Lang", "Larsen", "Lehmann", "Lindqvist", "Lopez",
	"Lund", "Marchetti", "Martin", "Meyer", "Molina", "Moreau", "Morgan", "Mueller", "Nakamura",
	"Navarro", "Nielsen", "Novak", "Olsen", "Ortega", "Park", "Pereira", "Perrin", "Petrov",
	"Quinn", "Ramos", "Reyes", "Richter", "Rios", "Rossi", "Russo", "Sato", "Schmidt", "Schulz",
	"Silva", "Sorensen", "Stein", "Suzuki", "Tanaka", "Torres", "Vargas", "Vogel", "Wagner",
	"Walsh", "Weber", "Werner", "Wolff", "Yilmaz", "Young", "Zimmermann", "Zhou",
};
const size_t cf_n_last_names = sizeof(cf_last_names) / sizeof(cf_last_names[0]);
