#version 330
uniform mat4 u_view_proj;
in vec3 in_pos;
void main() {
    gl_Position = u_view_proj * vec4(in_pos, 1.0);
}
