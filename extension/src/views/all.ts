// Importing this registers every view (each module calls registerView).
import "./chart";
import "./compare";
import "./table";
import "./parcoords";
import "./dashboard";
import "./card";
import "./registry";
