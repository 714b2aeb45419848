// Every page of the web UI (each registers itself with the shell by route name).
import "./experiments";
import "./runs";
import "./compare";
import "./run";
import "./models";
