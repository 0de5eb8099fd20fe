#version 330
// A full-window quad; v_uv runs 0..1 over the output window with row 0 at the top.
uniform float u_depth;  // NDC depth of the quad (1 = far plane, behind everything drawn before)
in vec2 in_corner;
out vec2 v_uv;
void main() {
    v_uv = in_corner * 0.5 + 0.5;
    gl_Position = vec4(in_corner, u_depth, 1.0);
}
