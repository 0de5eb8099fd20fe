#version 330
// Draft (slider-drag) frame, step 2 of 3, for the triangles inside the head (render/draft.py): seen in the
// photo, inside its matte, fully moved by the edit and with nothing generated, so the full step's blend
// (draft_person.frag) reduces to the photo's own colour, pasted whole.
uniform sampler2D u_photo;

in vec2 v_uv;
out vec4 out_colour;

void main() {
    out_colour = vec4(texture(u_photo, v_uv).rgb, 1.0);
}
